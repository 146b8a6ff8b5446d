package dump

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/session"
)

// Consistency modes (Config.Consistency).
const (
	ConsistencyAuto     = "auto"
	ConsistencyNone     = "none"
	ConsistencyFlush    = "flush"
	ConsistencySnapshot = "snapshot"
	ConsistencyLock     = "lock"
)

// snapshotAttempts bounds how often snapshot mode re-takes its snapshots to
// get every connection onto the same binlog position.
const snapshotAttempts = 8

// snapshot is a set of connections that read the same data, and the binlog
// position that data corresponds to.
type snapshot struct {
	conns []*sql.Conn
	loc   binlog.Location
	mode  string
}

// release ends the snapshot transactions and returns the connections.
func (s *snapshot) release() {
	for _, c := range s.conns {
		releaseConn(c)
	}
	s.conns = nil
}

// releaseConn ends any transaction and returns the connection to the pool.
func releaseConn(c *sql.Conn) {
	if _, err := c.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		session.Discard(c)
		return
	}
	c.Close()
}

// sessionSetup makes a dump connection's output byte-exact and independent
// of the server's defaults. The optional statements may fail on servers
// that lack the variable.
var (
	sessionSetup = []string{
		"SET NAMES utf8mb4",
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION sql_mode = ''",
		"SET SESSION sql_quote_show_create = 1",
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
	}
	sessionSetupOptional = map[string][]string{
		binlog.FlavorMariaDB: {"SET SESSION max_statement_time = 0", "SET SESSION net_write_timeout = 3600"},
		binlog.FlavorMySQL:   {"SET SESSION max_execution_time = 0", "SET SESSION net_write_timeout = 3600"},
	}
)

// newConn takes a connection from the pool and sets the dump session up.
func newConn(ctx context.Context, db *sql.DB, flavor string) (*sql.Conn, error) {
	c, err := session.Open(ctx, db, session.Setup{Required: sessionSetup, Optional: sessionSetupOptional[flavor]})
	if err != nil {
		return nil, fmt.Errorf("connect to upstream: %w", err)
	}
	return c, nil
}

func newConns(ctx context.Context, db *sql.DB, flavor string, n int) ([]*sql.Conn, error) {
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := newConn(ctx, db, flavor)
		if err != nil {
			for _, c := range conns {
				releaseConn(c)
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

const startSnapshot = "START TRANSACTION WITH CONSISTENT SNAPSHOT"

func startSnapshots(ctx context.Context, conns []*sql.Conn) error {
	for _, c := range conns {
		if _, err := c.ExecContext(ctx, startSnapshot); err != nil {
			return fmt.Errorf("%s: %w", startSnapshot, err)
		}
	}
	return nil
}

// takeSnapshot opens the reading connections according to the consistency
// mode; see the package documentation for what each mode does.
func takeSnapshot(ctx context.Context, db *sql.DB, cfg Config, flavor string, tables []*tableState) (*snapshot, error) {
	mode := cfg.Consistency
	switch mode {
	case ConsistencyAuto:
		if flavor == binlog.FlavorMariaDB {
			return snapshotMode(ctx, db, cfg, flavor, tables)
		}
		s, err := flushMode(ctx, db, cfg, flavor)
		if isAccessDenied(err) {
			cfg.Logger.Warn("auto consistency: FLUSH TABLES WITH READ LOCK is not permitted (no RELOAD privilege); using LOCK TABLES on the dumped tables", "error", err)
			return lockMode(ctx, db, cfg, flavor, tables)
		}
		return s, err
	case ConsistencySnapshot:
		return snapshotMode(ctx, db, cfg, flavor, tables)
	case ConsistencyFlush:
		return flushMode(ctx, db, cfg, flavor)
	case ConsistencyLock:
		return lockMode(ctx, db, cfg, flavor, tables)
	case ConsistencyNone:
		return noneMode(ctx, db, cfg, flavor)
	}
	return nil, fmt.Errorf("unknown consistency %q: use auto, none, flush, snapshot or lock", mode)
}

// noneMode reads the position first, then the data without any guarantee.
func noneMode(ctx context.Context, db *sql.DB, cfg Config, flavor string) (*snapshot, error) {
	conns, err := newConns(ctx, db, flavor, cfg.Threads)
	if err != nil {
		return nil, err
	}
	s := &snapshot{conns: conns, mode: ConsistencyNone}
	if s.loc, err = readPosition(ctx, conns[0], flavor); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// flushMode: FLUSH TABLES WITH READ LOCK, a consistent snapshot on every
// connection, the position, UNLOCK TABLES.
func flushMode(ctx context.Context, db *sql.DB, cfg Config, flavor string) (*snapshot, error) {
	return lockedSnapshots(ctx, db, cfg, flavor, "FLUSH TABLES WITH READ LOCK", ConsistencyFlush,
		"the upstream user needs the RELOAD privilege for consistency=flush (or use consistency=snapshot or lock)")
}

// lockMode: LOCK TABLES ... READ on the dumped tables instead of a global
// lock; writes to other tables go on.
func lockMode(ctx context.Context, db *sql.DB, cfg Config, flavor string, tables []*tableState) (*snapshot, error) {
	if len(tables) == 0 {
		return noneModeAs(ctx, db, cfg, flavor, ConsistencyLock)
	}
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = t.quoted + " READ"
	}
	return lockedSnapshots(ctx, db, cfg, flavor, "LOCK TABLES "+strings.Join(parts, ", "), ConsistencyLock,
		"the upstream user needs the LOCK TABLES and SELECT privileges for consistency=lock")
}

func noneModeAs(ctx context.Context, db *sql.DB, cfg Config, flavor, mode string) (*snapshot, error) {
	s, err := noneMode(ctx, db, cfg, flavor)
	if s != nil {
		s.mode = mode
	}
	return s, err
}

// lockedSnapshots starts cfg.Threads snapshots while lockStmt holds off the
// writes, so that they all see the same data, and reads the position under
// the same lock.
func lockedSnapshots(ctx context.Context, db *sql.DB, cfg Config, flavor, lockStmt, mode, hint string) (*snapshot, error) {
	conns, err := newConns(ctx, db, flavor, cfg.Threads)
	if err != nil {
		return nil, err
	}
	s := &snapshot{conns: conns, mode: mode}
	lockConn, err := newConn(ctx, db, flavor)
	if err != nil {
		s.release()
		return nil, err
	}
	// The lock connection never goes back to the pool: closing it is what
	// releases the lock in every path.
	defer session.Discard(lockConn)
	if _, err := lockConn.ExecContext(ctx, lockStmt); err != nil {
		s.release()
		if isAccessDenied(err) {
			return nil, fmt.Errorf("%s: %s: %w", firstWords(lockStmt), hint, err)
		}
		return nil, fmt.Errorf("%s: %w", firstWords(lockStmt), err)
	}
	if err := startSnapshots(ctx, conns); err != nil {
		s.release()
		return nil, err
	}
	if s.loc, err = readPosition(ctx, lockConn, flavor); err != nil {
		s.release()
		return nil, err
	}
	if _, err := lockConn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		s.release()
		return nil, fmt.Errorf("UNLOCK TABLES: %w", err)
	}
	return s, nil
}

func firstWords(stmt string) string {
	if strings.HasPrefix(stmt, "LOCK TABLES") {
		return "LOCK TABLES"
	}
	return stmt
}

// snapshotMode takes snapshots without a lock where the server tells the
// binlog position of a snapshot (MariaDB, Percona Server): every connection
// starts a snapshot and reads binlog_snapshot_file/position; connections
// whose snapshots sit at the same position see the same data. A few
// attempts try to get all of them onto one position; the largest group is
// kept and the others are closed, so at worst one connection reads
// everything. Elsewhere (MySQL) it falls back to flush, and to lock where
// FLUSH TABLES WITH READ LOCK is not permitted.
func snapshotMode(ctx context.Context, db *sql.DB, cfg Config, flavor string, tables []*tableState) (*snapshot, error) {
	conns, err := newConns(ctx, db, flavor, cfg.Threads)
	if err != nil {
		return nil, err
	}
	s := &snapshot{conns: conns, mode: ConsistencySnapshot}
	type pos struct {
		file string
		pos  uint32
		ok   bool
	}
	var best []int
	var bestPos pos
	for attempt := 0; attempt < snapshotAttempts; attempt++ {
		got := make([]pos, len(conns))
		errs := make([]error, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() {
				// End the previous attempt's transaction explicitly: a
				// START TRANSACTION inside it commits it implicitly but
				// may keep its read view while reporting a new position.
				if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
					errs[i] = err
					return
				}
				if _, err := c.ExecContext(ctx, startSnapshot); err != nil {
					errs[i] = fmt.Errorf("%s: %w", startSnapshot, err)
				}
			})
		}
		wg.Wait()
		// The positions are read one connection at a time: the server
		// computes a session's Binlog_snapshot_* into global variables
		// that concurrent SHOW STATUS calls overwrite.
		for i, c := range conns {
			if errs[i] == nil {
				got[i].file, got[i].pos, got[i].ok, errs[i] = stableSnapshotPosition(ctx, c)
			}
		}
		if err := errors.Join(errs...); err != nil {
			s.release()
			return nil, err
		}
		if !got[0].ok {
			if flavor == binlog.FlavorMariaDB {
				// Binary logging is off: there is no position to agree on,
				// and one connection is the only consistent snapshot.
				cfg.Logger.Warn("consistency=snapshot: the upstream writes no binlog, so the dump has no position; reading through one connection")
				for _, c := range conns[1:] {
					releaseConn(c)
				}
				s.conns = conns[:1]
				return s, nil
			}
			// The server does not report snapshot positions.
			s.release()
			cfg.Logger.Warn("consistency=snapshot: the server cannot tell a snapshot's binlog position; falling back to FLUSH TABLES WITH READ LOCK")
			fs, err := flushMode(ctx, db, cfg, flavor)
			if isAccessDenied(err) {
				cfg.Logger.Warn("consistency=snapshot: FLUSH TABLES WITH READ LOCK is not permitted; using LOCK TABLES on the dumped tables", "error", err)
				return lockMode(ctx, db, cfg, flavor, tables)
			}
			return fs, err
		}
		groups := map[pos][]int{}
		for i, p := range got {
			groups[p] = append(groups[p], i)
		}
		best = nil
		for p, g := range groups {
			if len(g) > len(best) || (len(g) == len(best) && g[0] < best[0]) {
				best, bestPos = g, p
			}
		}
		if len(best) == len(conns) {
			break
		}
	}
	if len(best) < len(conns) {
		cfg.Logger.Info("consistency=snapshot: the upstream committed while the snapshots were taken; reading with fewer connections",
			"connections", len(best), "wanted", len(conns))
		keep := make([]*sql.Conn, 0, len(best))
		inBest := map[int]bool{}
		for _, i := range best {
			inBest[i] = true
		}
		for i, c := range conns {
			if inBest[i] {
				keep = append(keep, c)
			} else {
				releaseConn(c)
			}
		}
		s.conns = keep
	}
	s.loc = binlog.Location{File: bestPos.file, Pos: bestPos.pos}
	if s.loc.GTIDSet, err = gtidAt(ctx, s.conns[0], flavor, s.loc); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// stableSnapshotPosition reads the snapshot position until two reads in a
// row agree, which guards against another session's SHOW STATUS
// overwriting the value in between (see snapshotMode).
func stableSnapshotPosition(ctx context.Context, c *sql.Conn) (string, uint32, bool, error) {
	file, pos, ok, err := snapshotPosition(ctx, c)
	for range 10 {
		if err != nil || !ok {
			return file, pos, ok, err
		}
		f2, p2, ok2, err := snapshotPosition(ctx, c)
		if err != nil {
			return "", 0, false, err
		}
		if ok2 && f2 == file && p2 == pos {
			return file, pos, true, nil
		}
		file, pos, ok = f2, p2, ok2
	}
	return "", 0, false, errors.New("the snapshot's binlog position keeps changing between reads (other sessions read SHOW STATUS constantly); use consistency=flush")
}

// snapshotPosition reads the binlog position of the connection's snapshot
// (Binlog_snapshot_file / Binlog_snapshot_position). ok is false when the
// server has no such status variables or binary logging is off.
func snapshotPosition(ctx context.Context, c *sql.Conn) (file string, pos uint32, ok bool, err error) {
	rows, err := c.QueryContext(ctx, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return "", 0, false, fmt.Errorf("read the snapshot's binlog position: %w", err)
	}
	defer rows.Close()
	var posText string
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return "", 0, false, err
		}
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			file = value
		case "binlog_snapshot_position":
			posText = value
		}
	}
	if err := rows.Err(); err != nil {
		return "", 0, false, err
	}
	if file == "" || posText == "" {
		return "", 0, false, nil
	}
	p, err := strconv.ParseUint(posText, 10, 32)
	if err != nil {
		return "", 0, false, fmt.Errorf("binlog_snapshot_position %q: %w", posText, err)
	}
	return file, uint32(p), true, nil
}

// readPosition reads the current binlog position and GTID set. Callers hold
// a lock that keeps the relevant commits out, or accept that there is none.
func readPosition(ctx context.Context, c *sql.Conn, flavor string) (binlog.Location, error) {
	var lastErr error
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS", "SHOW BINLOG STATUS"} {
		loc, gtid, err := queryMasterStatus(ctx, c, q)
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) && myErr.Number == 1064 { // parse error: try the next name
			lastErr = err
			continue
		}
		if err != nil {
			return binlog.Location{}, fmt.Errorf("read the binlog position: %w", err)
		}
		if loc.File == "" {
			return loc, nil // binary logging off, or no REPLICATION CLIENT privilege
		}
		if flavor == binlog.FlavorMySQL {
			loc.GTIDSet = gtid
			return loc, nil
		}
		loc.GTIDSet, err = gtidAt(ctx, c, flavor, loc)
		return loc, err
	}
	return binlog.Location{}, fmt.Errorf("read the binlog position: %w", lastErr)
}

func queryMasterStatus(ctx context.Context, c *sql.Conn, q string) (binlog.Location, string, error) {
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return binlog.Location{}, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return binlog.Location{}, "", err
	}
	var loc binlog.Location
	var gtid string
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return binlog.Location{}, "", err
		}
		for i, name := range cols {
			switch strings.ToLower(name) {
			case "file":
				loc.File = vals[i].String
			case "position":
				p, err := strconv.ParseUint(vals[i].String, 10, 32)
				if err != nil {
					return binlog.Location{}, "", fmt.Errorf("%s: position %q: %w", q, vals[i].String, err)
				}
				loc.Pos = uint32(p)
			case "executed_gtid_set":
				gtid = strings.Join(strings.Fields(vals[i].String), "")
			}
		}
	}
	return loc, gtid, rows.Err()
}

// gtidAt returns the GTID set at loc: MariaDB's BINLOG_GTID_POS(file, pos);
// on MySQL it cannot be derived from a position and stays empty.
func gtidAt(ctx context.Context, c *sql.Conn, flavor string, loc binlog.Location) (string, error) {
	if flavor != binlog.FlavorMariaDB || loc.File == "" {
		return "", nil
	}
	var gtid sql.NullString
	if err := c.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS("+QuoteString(loc.File)+", "+strconv.FormatUint(uint64(loc.Pos), 10)+")").Scan(&gtid); err != nil {
		return "", fmt.Errorf("BINLOG_GTID_POS(%s): %w", loc, err)
	}
	return gtid.String, nil
}

// isAccessDenied reports MySQL's privilege errors.
func isAccessDenied(err error) bool {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) {
		return false
	}
	switch myErr.Number {
	case 1044, 1045, 1142, 1227:
		return true
	}
	return false
}
