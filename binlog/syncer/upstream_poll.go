package syncer

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/dm-oss/dm/binlog"
)

// pollMaster reads the upstream's position every second, and its clock offset once.
func (s *Syncer) pollMaster(ctx context.Context) {
	db := s.cfg.Upstream
	offsetKnown := false
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if !offsetKnown {
			before := time.Now()
			var up float64
			if err := db.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&up); err == nil {
				after := time.Now()
				local := before.Add(after.Sub(before) / 2)
				offset := time.Duration((up - float64(local.UnixNano())/1e9) * float64(time.Second))
				s.mu.Lock()
				s.st.clockOffset, s.st.offsetKnown = offset, true
				s.mu.Unlock()
				offsetKnown = true
			}
		}
		if loc, err := masterStatus(ctx, db); err == nil {
			s.mu.Lock()
			s.st.noteMaster(loc, time.Now())
			s.mu.Unlock()
			s.metrics.posMaster.Set(float64(loc.Pos))
			s.metrics.fileMaster.Set(fileIndex(loc.File))
		} else if ctx.Err() == nil {
			s.log.Debug("read upstream position", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// masterStatus reads the upstream's binlog position and GTID set.
func masterStatus(ctx context.Context, db *sql.DB) (binlog.Location, error) {
	var loc binlog.Location
	var err error
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"} {
		var rows *sql.Rows
		rows, err = db.QueryContext(ctx, q)
		if err != nil {
			continue
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if rows.Next() {
			if err = rows.Scan(ptrs...); err == nil && len(cols) >= 2 {
				loc.File = string(vals[0])
				pos, _ := strconv.ParseUint(string(vals[1]), 10, 32)
				loc.Pos = uint32(pos)
			}
		}
		rows.Close()
		break
	}
	if err != nil {
		return loc, err
	}
	var gtid sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtid); err != nil {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&gtid); err == nil {
			gtid.String = strings.Join(strings.Fields(gtid.String), "")
		}
	}
	loc.GTIDSet = gtid.String
	return loc, nil
}
