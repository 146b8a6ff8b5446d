package relay

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
)

// The gap filler parses as a QUERY event of exactly the gap's size, checksum included.
func TestDummyEvent(t *testing.T) {
	for _, checksum := range []bool{true, false} {
		for _, size := range []uint32{44, 50, 90, 1000} {
			raw, err := dummyEvent(size, 5000, 7, checksum)
			if err != nil {
				t.Fatal(err)
			}
			if uint32(len(raw)) != size {
				t.Fatalf("dummy of %d bytes for a %d-byte gap", len(raw), size)
			}
			p := replication.NewBinlogParser()
			p.SetVerifyChecksum(true)
			if checksum {
				p.SetFlavor("mariadb")
				// A checksummed stream needs a format description that says so.
				fde := mariaFDE(t)
				if _, err := p.Parse(fde); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := p.Parse(plainFDE(t)); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := p.Parse(raw)
			if err != nil {
				t.Fatalf("checksum %v size %d: %v", checksum, size, err)
			}
			if !IsDummy(ev) || ev.Header.LogPos != 5000 || ev.Header.EventSize != size {
				t.Fatalf("parsed dummy %+v %+v", ev.Header, ev.Event)
			}
		}
	}
	if _, err := dummyEvent(30, 100, 1, true); err == nil {
		t.Error("a 30-byte gap cannot be filled, want an error")
	}
}

// fde builds a FORMAT_DESCRIPTION event of a MariaDB 10.11 server.
func fde(t *testing.T, checksum bool) []byte {
	t.Helper()
	body := make([]byte, 2+50+4+1)
	binary.LittleEndian.PutUint16(body, 4)
	copy(body[2:], "10.11.6-MariaDB-log")
	body[56] = headerSize
	lengths := make([]byte, 168) // post-header lengths per event type
	lengths[replication.QUERY_EVENT-1] = 13
	lengths[replication.TABLE_MAP_EVENT-1] = 8
	body = append(body, lengths...)
	if checksum {
		body = append(body, byte(replication.BINLOG_CHECKSUM_ALG_CRC32), 0, 0, 0, 0)
	} else {
		body = append(body, byte(replication.BINLOG_CHECKSUM_ALG_OFF))
	}
	raw := make([]byte, headerSize, headerSize+len(body))
	raw[4] = byte(replication.FORMAT_DESCRIPTION_EVENT)
	raw = append(raw, body...)
	binary.LittleEndian.PutUint32(raw[9:], uint32(len(raw)))
	if checksum {
		binary.LittleEndian.PutUint32(raw[len(raw)-4:], crc32.ChecksumIEEE(raw[:len(raw)-4]))
	}
	return raw
}

func mariaFDE(t *testing.T) []byte { return fde(t, true) }
func plainFDE(t *testing.T) []byte { return fde(t, false) }

// query builds the body of a QUERY event.
func query(q string) []byte {
	b := make([]byte, 13, 13+1+len(q))
	b = append(b, 0)
	return append(b, q...)
}

func TestGroupTracker(t *testing.T) {
	mariaGTID := func(flags byte) []byte {
		b := make([]byte, 13)
		b[12] = flags
		return b
	}
	type step struct {
		t          replication.EventType
		body       []byte
		begin, end bool
	}
	cases := map[string][]step{
		"mariadb transaction": {
			{replication.MARIADB_GTID_EVENT, mariaGTID(0x0c), true, false},
			{replication.MARIADB_ANNOTATE_ROWS_EVENT, nil, false, false},
			{replication.TABLE_MAP_EVENT, nil, false, false},
			{replication.WRITE_ROWS_EVENTv1, nil, false, false},
			{replication.XID_EVENT, nil, false, true},
		},
		"mariadb ddl": {
			{replication.MARIADB_GTID_EVENT, mariaGTID(0x29), true, false},
			{replication.QUERY_EVENT, query("CREATE TABLE x (a int)"), false, true},
		},
		"mariadb non-transactional": {
			{replication.MARIADB_GTID_EVENT, mariaGTID(0x08), true, false},
			{replication.QUERY_EVENT, query("INSERT INTO aria VALUES (1)"), false, false},
			{replication.QUERY_EVENT, query("COMMIT"), false, true},
		},
		"mysql transaction": {
			{replication.GTID_EVENT, nil, true, false},
			{replication.QUERY_EVENT, query("BEGIN"), false, false},
			{replication.TABLE_MAP_EVENT, nil, false, false},
			{replication.WRITE_ROWS_EVENTv2, nil, false, false},
			{replication.XID_EVENT, nil, false, true},
		},
		"mysql ddl": {
			{replication.ANONYMOUS_GTID_EVENT, nil, true, false},
			{replication.QUERY_EVENT, query("DROP TABLE x"), false, true},
		},
		"mysql xa": {
			{replication.GTID_EVENT, nil, true, false},
			{replication.QUERY_EVENT, query("XA START X'01'"), false, false},
			{replication.WRITE_ROWS_EVENTv2, nil, false, false},
			{replication.QUERY_EVENT, query("XA END X'01'"), false, false},
			{replication.XA_PREPARE_LOG_EVENT, nil, false, true},
			{replication.GTID_EVENT, nil, true, false},
			{replication.QUERY_EVENT, query("XA COMMIT X'01'"), false, true},
		},
		"no gtid": {
			{replication.QUERY_EVENT, query("BEGIN"), true, false},
			{replication.XID_EVENT, nil, false, true},
			{replication.QUERY_EVENT, query("CREATE DATABASE d"), true, true},
		},
	}
	for name, steps := range cases {
		var g GroupTracker
		for i, s := range steps {
			b, e := g.Observe(s.t, s.body)
			if b != s.begin || e != s.end {
				t.Errorf("%s step %d (%v): begin %v end %v, want %v %v", name, i, s.t, b, e, s.begin, s.end)
			}
		}
		if !g.AtBoundary() {
			t.Errorf("%s: not at a boundary at the end", name)
		}
	}
}
