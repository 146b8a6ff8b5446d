package syncer

import (
	"fmt"
	"strings"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dm-oss/dm/binlog"
)

// Another upstream server (a failover).
//
// A position (file, offset) is a place in one server's binlog. When the upstream fails over to
// a replica, the replica holds the same transactions with the same GTIDs (log_slave_updates,
// GTID mode), at other positions. Every checkpoint row therefore records the server whose
// binlog its position is in (Config.UpstreamID, column upstream_id). When a row names another
// server than the one this run reads, the checkpoint has "moved": its positions are compared
// with nothing, its GTID sets with everything.
//
// The GTID set at a transaction's start grows by that transaction's GTID with every
// transaction, in the same order on every server of one replication history, so it orders
// transactions whatever binlog they are read from. A moved resume is planned as any other
// (resumePlan), with the rows ordered by GTID set; ResumeLocation returns the lowest effective
// progress as a GTID set alone, so that the reader is opened by GTID; and each transaction of
// the stream is matched with the plan by its GTID set at start: skipped when the global
// checkpoint covers it, its row changes skipped exactly as far as each worker's progress goes
// (keyless tables included), in safe mode as far as an unclean stop left it, its DDL re-run
// tolerantly if it was in flight. The schema tracker's state is the one stored at the global
// checkpoint. Everything the run writes afterwards is at the new server's positions under its
// identity; rows it does not rewrite (a worker that gets no row change) keep the old identity
// and keep later resumes in this mode, which stays exact as long as every row carries a GTID set.
//
// A checkpoint without GTID sets cannot be carried to another server, nor can held-back rows
// of an unresolved pessimistic shard DDL (they are re-read by position): Run and
// ResumeLocation refuse both with an error that says so.

// movedPlan is the plan of a resume whose checkpoint names another upstream server.
type movedPlan struct {
	from   string // the upstream the checkpoint names
	flavor string // of the GTID sets
	sets   map[string]gmysql.GTIDSet
	// ddlAt is the start of the DDL that was in flight (the global checkpoint then), zero
	// when none was; markerOpen says its marker still stands.
	ddlAt      binlog.Location
	markerOpen bool
}

// movedFrom returns the upstream the checkpoint rows name when it is another than current
// (rows without an identity name none).
func (st cpState) movedFrom(current string) (string, bool) {
	if current == "" {
		return "", false
	}
	for _, r := range st.rows() {
		if r.upstream != "" && r.upstream != current {
			return r.upstream, true
		}
	}
	return "", false
}

func (st cpState) rows() []cpRow {
	out := make([]cpRow, 0, len(st.workers)+1)
	if st.global != nil {
		out = append(out, *st.global)
	}
	for _, r := range st.workers {
		out = append(out, r)
	}
	return out
}

// newMovedPlan parses the GTID sets of every row: a row without one, or two rows that are not
// of one history, make the checkpoint impossible to carry to another server.
func newMovedPlan(st cpState, from, current string) (*movedPlan, error) {
	m := &movedPlan{from: from, sets: map[string]gmysql.GTIDSet{}}
	rows := st.rows()
	for _, r := range rows {
		if r.loc.GTIDSet == "" {
			return nil, fmt.Errorf("the checkpoint was written reading upstream %s, and this run reads %s; its position %s has no GTID set, so it cannot be found in this server's binlog: "+
				"a task continues on another server only by GTID (enable_gtid)", from, current, r.loc)
		}
		if m.flavor == "" {
			m.flavor = gmysql.MariaDBFlavor
			if strings.Contains(r.loc.GTIDSet, ":") {
				m.flavor = gmysql.MySQLFlavor
			}
		}
		if _, err := m.set(r.loc.GTIDSet); err != nil {
			return nil, err
		}
	}
	for i := range rows {
		for j := range i {
			if _, err := m.compare(rows[i].loc, rows[j].loc); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// set parses a GTID set once.
func (m *movedPlan) set(s string) (gmysql.GTIDSet, error) {
	if set, ok := m.sets[s]; ok {
		return set, nil
	}
	set, err := gmysql.ParseGTIDSet(m.flavor, s)
	if err != nil {
		return nil, fmt.Errorf("checkpoint GTID set %q: %w", s, err)
	}
	m.sets[s] = set
	return set, nil
}

// compare orders two locations of the checkpoint by their GTID sets.
func (m *movedPlan) compare(a, b binlog.Location) (int, error) {
	as, err := m.set(a.GTIDSet)
	if err != nil {
		return 0, err
	}
	bs, err := m.set(b.GTIDSet)
	if err != nil {
		return 0, err
	}
	return compareSets(as, bs)
}

// compareSets orders two GTID sets of one history: -1 when a is contained in b, 1 when b is in
// a, 0 when they are equal.
func compareSets(a, b gmysql.GTIDSet) (int, error) {
	switch {
	case a.Equal(b):
		return 0, nil
	case b.Contain(a):
		return -1, nil
	case a.Contain(b):
		return 1, nil
	}
	return 0, fmt.Errorf("GTID sets %s and %s are not of one replication history: the upstream's binlog is not the one the checkpoint was written against", a, b)
}

// mustCompare is compare for sets newMovedPlan has checked.
func (m *movedPlan) mustCompare(a, b binlog.Location) int {
	c, err := m.compare(a, b)
	if err != nil {
		panic(fmt.Sprintf("syncer: checked GTID sets do not compare: %v", err))
	}
	return c
}

// gtidOnly is the location with its position dropped: in a moved checkpoint only the GTID set
// means something on the server read now.
func gtidOnly(loc binlog.Location) binlog.Location {
	if loc.IsZero() {
		return loc
	}
	return binlog.Location{GTIDSet: loc.GTIDSet}
}

// moveResume turns the lowest effective progress of a moved checkpoint into the reader's start:
// its GTID set alone.
func (st cpState) moveResume(from, current string) (binlog.Location, error) {
	m, err := newMovedPlan(st, from, current)
	if err != nil {
		return binlog.Location{}, err
	}
	return gtidOnly(st.resumeBy(m.mustCompare)), nil
}

// txnOrder compares the start of the transaction being read with a location of the plan: by
// position, or by GTID set when the checkpoint moved.
func (r *run) txnOrder(txn *txnInfo, planLoc binlog.Location) (int, error) {
	m := r.plan.moved
	if m == nil {
		return compareLoc(txn.start, planLoc), nil
	}
	if txn.gtid == nil {
		return 0, fmt.Errorf("the transaction at %s has no GTID, so it cannot be matched with the checkpoint written reading upstream %s", txn.start, m.from)
	}
	ps, err := m.set(planLoc.GTIDSet)
	if err != nil {
		return 0, err
	}
	return compareSets(restrictTo(txn.gtid, ps), ps)
}

// restrictTo keeps of set the domains (MariaDB) or server UUIDs (MySQL) that plan has: the
// stream of the new server may carry transactions the checkpoint's history never had (the
// replica's own, in another domain or under its UUID), which order nothing in that history.
func restrictTo(set, plan gmysql.GTIDSet) gmysql.GTIDSet {
	switch s := set.(type) {
	case *gmysql.MariadbGTIDSet:
		p, ok := plan.(*gmysql.MariadbGTIDSet)
		if !ok {
			return set
		}
		out := &gmysql.MariadbGTIDSet{Sets: map[uint32]*gmysql.MariadbGTID{}}
		for domain, gtid := range s.Sets {
			if _, ok := p.Sets[domain]; ok {
				out.Sets[domain] = gtid
			}
		}
		return out
	case *gmysql.MysqlGTIDSet:
		p, ok := plan.(*gmysql.MysqlGTIDSet)
		if !ok {
			return set
		}
		out := gmysql.MysqlGTIDSet{}
		for uuid, intervals := range *s {
			if _, ok := (*p)[uuid]; ok {
				out[uuid] = intervals
			}
		}
		return &out
	}
	return set
}

// upstreamOf is the identity the global row is written with at loc: the moved checkpoint's
// server while loc is still one of its locations (a GTID set alone), this run's otherwise.
func (r *run) upstreamOf(loc binlog.Location) string {
	if m := r.plan.moved; m != nil && loc.File == "" {
		return m.from
	}
	return r.s.cfg.UpstreamID
}
