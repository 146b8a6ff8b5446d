package dump

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
)

// tableState is one table being dumped.
type tableState struct {
	schema, table string
	quoted        string // `schema`.`table`
	create        string // CREATE TABLE statement, starting with CreateTablePrefix
	base          string // file base name
	columns       []string
	// selectCols are the columns the dump reads: columns, then key columns
	// that are generated (and so not inserted), whose values the chunk
	// bounds still need.
	selectCols []string
	kinds      []valueKind // per selectCols
	keyCols    []string
	keyIdx     []int // positions of keyCols in selectCols
	intKey     bool  // a single integer key column
	unsigned   bool
	estRows    int64
	// pendingRanges counts the table's ranges not dumped yet.
	pendingRanges atomic.Int64

	mu     sync.Mutex
	chunks []rangeChunk
}

type rangeChunk struct {
	rangeIdx, part int
	Chunk
}

// discover lists the schemas and tables the rules select and reads their
// definitions.
func discover(ctx context.Context, db *sql.DB, c *sql.Conn, r *rules.Rules) ([]SchemaMeta, []*tableState, error) {
	schemaNames, err := upstream.ListSchemas(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	var schemas []SchemaMeta
	var tables []*tableState
	for _, s := range schemaNames {
		if r != nil && !r.MatchSchema(s) {
			continue
		}
		names, err := upstream.ListTables(ctx, db, s)
		if err != nil {
			return nil, nil, err
		}
		var picked []string
		for _, t := range names {
			if r == nil || r.Match(s, t) {
				picked = append(picked, t)
			}
		}
		// A matched database with no (selected) table yet is dumped too: the target gets
		// it, and the tables created in it later arrive through the binlog.
		sm := SchemaMeta{Name: s}
		if err := c.QueryRowContext(ctx,
			"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", s,
		).Scan(&sm.Charset, &sm.Collation); err != nil && err != sql.ErrNoRows {
			return nil, nil, fmt.Errorf("read schema %s: %w", upstream.QuoteName(s), err)
		}
		schemas = append(schemas, sm)
		for _, t := range picked {
			ts, err := inspectTable(ctx, c, s, t)
			if err != nil {
				return nil, nil, err
			}
			tables = append(tables, ts)
		}
	}
	return schemas, tables, nil
}

type columnInfo struct {
	name, dataType, columnType, extra string
	nullable                          bool
}

func inspectTable(ctx context.Context, c *sql.Conn, schema, table string) (*tableState, error) {
	t := &tableState{schema: schema, table: table,
		quoted: upstream.QuoteName(schema) + "." + upstream.QuoteName(table)}
	fail := func(what string, err error) (*tableState, error) {
		return nil, fmt.Errorf("%s of %s: %w", what, t.quoted, err)
	}

	var name string
	if err := c.QueryRowContext(ctx, "SHOW CREATE TABLE "+t.quoted).Scan(&name, &t.create); err != nil {
		return fail("SHOW CREATE TABLE", err)
	}
	// The server names the table without schema, quoted as QuoteName does
	// (sql_quote_show_create=1, no ANSI_QUOTES): a loader replaces exactly
	// this prefix.
	if prefix := (TableMeta{Table: table}).CreateTablePrefix(); !strings.HasPrefix(t.create, prefix) {
		return fail("SHOW CREATE TABLE", fmt.Errorf("the statement does not begin with %q: %.80q", prefix, t.create))
	}

	cols, err := queryColumns(ctx, c, schema, table)
	if err != nil {
		return fail("read columns", err)
	}
	byName := map[string]columnInfo{}
	for _, col := range cols {
		byName[col.name] = col
		ex := strings.ToUpper(col.extra)
		if strings.Contains(ex, "VIRTUAL") || strings.Contains(ex, "STORED") || strings.Contains(ex, "PERSISTENT") {
			continue // generated: the target computes it
		}
		t.columns = append(t.columns, col.name)
		t.selectCols = append(t.selectCols, col.name)
		t.kinds = append(t.kinds, kindOf(col.dataType))
	}
	if len(t.columns) == 0 {
		return fail("read columns", fmt.Errorf("no insertable columns"))
	}
	if t.keyCols, err = pickKey(ctx, c, schema, table, byName); err != nil {
		return fail("read keys", err)
	}
	for _, k := range t.keyCols {
		i := indexOf(t.selectCols, k)
		if i < 0 {
			t.selectCols = append(t.selectCols, k)
			t.kinds = append(t.kinds, kindOf(byName[k].dataType))
			i = len(t.selectCols) - 1
		}
		t.keyIdx = append(t.keyIdx, i)
	}
	if len(t.keyCols) == 1 {
		switch strings.ToLower(byName[t.keyCols[0]].dataType) {
		case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
			t.intKey = true
			t.unsigned = strings.Contains(strings.ToLower(byName[t.keyCols[0]].columnType), "unsigned")
		}
	}
	var est sql.NullInt64
	if err := c.QueryRowContext(ctx,
		"SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table,
	).Scan(&est); err != nil && err != sql.ErrNoRows {
		return fail("read row estimate", err)
	}
	t.estRows = est.Int64
	return t, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func queryColumns(ctx context.Context, c *sql.Conn, schema, table string) ([]columnInfo, error) {
	rows, err := c.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, EXTRA, IS_NULLABLE
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []columnInfo
	for rows.Next() {
		var s, t, nullable string
		var col columnInfo
		var extra sql.NullString
		if err := rows.Scan(&s, &t, &col.name, &col.dataType, &col.columnType, &extra, &nullable); err != nil {
			return nil, err
		}
		// information_schema compares case-insensitively; "T" and "t" may
		// both exist.
		if s != schema || t != table {
			continue
		}
		col.extra = extra.String
		col.nullable = strings.EqualFold(nullable, "YES")
		cols = append(cols, col)
	}
	return cols, rows.Err()
}

// pickKey returns the primary key, else the first (by name) unique key whose
// columns are all NOT NULL and not prefix-indexed; nil if there is none.
func pickKey(ctx context.Context, c *sql.Conn, schema, table string, cols map[string]columnInfo) ([]string, error) {
	rows, err := c.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type index struct {
		cols   []string
		usable bool
	}
	indexes := map[string]*index{}
	var order []string
	for rows.Next() {
		var s, t, name string
		var nonUnique, seq int
		var col sql.NullString
		var subPart sql.NullInt64
		if err := rows.Scan(&s, &t, &name, &nonUnique, &seq, &col, &subPart); err != nil {
			return nil, err
		}
		if s != schema || t != table || nonUnique != 0 {
			continue
		}
		ix := indexes[name]
		if ix == nil {
			ix = &index{usable: true}
			indexes[name] = ix
			order = append(order, name)
		}
		ci, ok := cols[col.String]
		if !col.Valid || !ok || ci.nullable || subPart.Valid {
			ix.usable = false // an expression, a nullable column or a prefix
		}
		ix.cols = append(ix.cols, col.String)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if ix := indexes["PRIMARY"]; ix != nil && ix.usable {
		return ix.cols, nil
	}
	sort.Strings(order)
	for _, name := range order {
		if ix := indexes[name]; ix.usable {
			return ix.cols, nil
		}
	}
	return nil, nil
}

func (t *tableState) writeSchemaFile(dir string) error {
	return writeFileSync(filepath.Join(dir, t.base+"-schema.sql"), []byte(t.create+";\n"))
}

// finish assembles the table's metadata from its written chunks.
func (t *tableState) finish() TableMeta {
	t.mu.Lock()
	defer t.mu.Unlock()
	sort.Slice(t.chunks, func(i, j int) bool {
		a, b := t.chunks[i], t.chunks[j]
		if a.rangeIdx != b.rangeIdx {
			return a.rangeIdx < b.rangeIdx
		}
		return a.part < b.part
	})
	tm := TableMeta{Schema: t.schema, Table: t.table, SchemaFile: t.base + "-schema.sql",
		Columns: t.columns, KeyColumns: t.keyCols, Chunks: []Chunk{}}
	for _, c := range t.chunks {
		tm.Chunks = append(tm.Chunks, c.Chunk)
		tm.Rows += c.Rows
		tm.Bytes += c.Bytes
	}
	return tm
}

// rangeJob is a key range of a table that one connection reads; lo is
// inclusive, hi exclusive, nil open.
type rangeJob struct {
	t      *tableState
	idx    int
	lo, hi []string
	est    int64
}

// planRanges splits the table into key ranges of about chunkRows rows. A
// single integer key is split arithmetically between its MIN and MAX; other
// keys by walking the key index; a table without key is one range.
func planRanges(ctx context.Context, c *sql.Conn, t *tableState, chunkRows, threads int) ([]*rangeJob, error) {
	single := []*rangeJob{{t: t, est: t.estRows}}
	if len(t.keyCols) == 0 || t.estRows <= int64(chunkRows)*3/2 && !t.intKey {
		return single, nil
	}
	var bounds [][]string
	var err error
	if t.intKey {
		bounds, err = intBounds(ctx, c, t, chunkRows, threads)
	} else {
		bounds, err = walkBounds(ctx, c, t, chunkRows)
	}
	if err != nil || len(bounds) == 0 {
		return single, err
	}
	jobs := make([]*rangeJob, 0, len(bounds)+1)
	var lo []string
	for _, b := range bounds {
		jobs = append(jobs, &rangeJob{t: t, lo: lo, hi: b})
		lo = b
	}
	jobs = append(jobs, &rangeJob{t: t, lo: lo})
	for i, j := range jobs {
		j.idx = i
		j.est = t.estRows / int64(len(jobs))
	}
	return jobs, nil
}

func intBounds(ctx context.Context, c *sql.Conn, t *tableState, chunkRows, threads int) ([][]string, error) {
	k := upstream.QuoteName(t.keyCols[0])
	var lo, hi sql.NullString
	if err := c.QueryRowContext(ctx, "SELECT MIN("+k+"), MAX("+k+") FROM "+t.quoted).Scan(&lo, &hi); err != nil {
		return nil, err
	}
	if !lo.Valid || !hi.Valid {
		return nil, nil // empty
	}
	minV, ok1 := new(big.Int).SetString(lo.String, 10)
	maxV, ok2 := new(big.Int).SetString(hi.String, 10)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("integer key bounds %q, %q", lo.String, hi.String)
	}
	span := new(big.Int).Sub(maxV, minV)
	span.Add(span, big.NewInt(1))
	// As many ranges as the key span holds chunks, but a sparse key with
	// few rows gets no more than a few ranges per thread.
	n := new(big.Int).Add(span, big.NewInt(int64(chunkRows-1)))
	n.Div(n, big.NewInt(int64(chunkRows)))
	limit := max(int64(4*threads), 2*t.estRows/int64(chunkRows)+1)
	ranges := limit
	if n.IsInt64() && n.Int64() < limit {
		ranges = n.Int64()
	}
	if ranges <= 1 {
		return nil, nil
	}
	step := new(big.Int).Div(span, big.NewInt(ranges))
	if step.Sign() == 0 {
		return nil, nil
	}
	var bounds [][]string
	v := new(big.Int).Set(minV)
	for i := int64(1); i < ranges; i++ {
		v.Add(v, step)
		bounds = append(bounds, []string{v.String()})
	}
	return bounds, nil
}

// walkBounds finds every chunkRows-th key in key order.
func walkBounds(ctx context.Context, c *sql.Conn, t *tableState, chunkRows int) ([][]string, error) {
	sel := make([]string, len(t.keyCols))
	kinds := make([]valueKind, len(t.keyCols))
	for i, k := range t.keyCols {
		kinds[i] = t.kinds[t.keyIdx[i]]
		sel[i] = selectExpr(k, kinds[i])
	}
	order := quoteNames(t.keyCols)
	var bounds [][]string
	var lo []string
	vals := make([]sql.RawBytes, len(t.keyCols))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for len(bounds) < maxWalkBoundaries {
		q := "SELECT " + strings.Join(sel, ",") + " FROM " + t.quoted
		if lo != nil {
			q += " WHERE " + rangeCond(t.keyCols, lo, true, nil, false)
		}
		q += fmt.Sprintf(" ORDER BY %s LIMIT 1 OFFSET %d", order, chunkRows)
		rows, err := c.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		var b []string
		if rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, err
			}
			b = make([]string, len(vals))
			for i, v := range vals {
				b[i] = string(appendValue(nil, v, kinds[i]))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		bounds = append(bounds, b)
		lo = b
	}
	return bounds, nil
}

// dump reads the range through the snapshot connection into data files.
func (j *rangeJob) dump(ctx context.Context, c *sql.Conn, cfg Config) error {
	t := j.t
	sel := make([]string, len(t.selectCols))
	for i, col := range t.selectCols {
		sel[i] = selectExpr(col, t.kinds[i])
	}
	q := "SELECT " + strings.Join(sel, ",") + " FROM " + t.quoted
	if j.lo != nil || j.hi != nil {
		q += " WHERE " + rangeCond(t.keyCols, j.lo, true, j.hi, false)
	}
	if len(t.keyCols) > 0 {
		q += " ORDER BY " + quoteNames(t.keyCols)
	}
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s: %w", t.quoted, err)
	}
	defer rows.Close()
	w := &chunkWriter{t: t, job: j, dir: cfg.Dir, chunkRows: int64(cfg.ChunkRows), counters: cfg.Counters,
		prefix: TableMeta{Table: t.table, Columns: t.columns}.InsertPrefix()}
	defer w.abort()
	vals := make([]sql.RawBytes, len(t.selectCols))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read %s: %w", t.quoted, err)
		}
		if err := w.add(vals); err != nil {
			return fmt.Errorf("write %s: %w", t.quoted, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", t.quoted, err)
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("write %s: %w", t.quoted, err)
	}
	t.mu.Lock()
	t.chunks = append(t.chunks, w.done...)
	t.mu.Unlock()
	if t.pendingRanges.Add(-1) == 0 {
		cfg.Counters.tableDone()
	}
	cfg.Logger.Debug("dumped range", "table", t.quoted, "range", j.idx, "files", len(w.done))
	return nil
}

// chunkWriter writes one range's rows into data files of at most chunkRows
// rows (or chunkMaxBytes), one multi-row INSERT per line.
type chunkWriter struct {
	t         *tableState
	job       *rangeJob
	dir       string
	chunkRows int64
	prefix    string
	counters  *Counters

	f        *os.File
	cur      rangeChunk
	stmt     []byte
	stmtRows int
	keyBuf   [][]byte
	done     []rangeChunk
	part     int
}

func (w *chunkWriter) add(vals []sql.RawBytes) error {
	if w.f == nil {
		w.cur = rangeChunk{rangeIdx: w.job.idx, part: w.part}
		w.cur.File = fmt.Sprintf("%s.%05d.%05d.sql", w.t.base, w.job.idx, w.part)
		w.part++
		f, err := createFile(filepath.Join(w.dir, w.cur.File))
		if err != nil {
			return err
		}
		w.f = f
		if w.keyBuf == nil {
			w.keyBuf = make([][]byte, len(w.t.keyIdx))
		}
	}
	if w.stmtRows == 0 {
		w.stmt = append(w.stmt[:0], w.prefix...)
	} else {
		w.stmt = append(w.stmt, ',')
	}
	w.stmt = append(w.stmt, '(')
	for i := range w.t.columns {
		if i > 0 {
			w.stmt = append(w.stmt, ',')
		}
		w.stmt = appendValue(w.stmt, vals[i], w.t.kinds[i])
	}
	w.stmt = append(w.stmt, ')')
	w.stmtRows++
	for i, ki := range w.t.keyIdx {
		w.keyBuf[i] = appendValue(w.keyBuf[i][:0], vals[ki], w.t.kinds[ki])
	}
	if w.cur.Rows == 0 {
		w.cur.MinKey = keyStrings(w.keyBuf)
	}
	w.cur.Rows++
	if len(w.stmt) >= statementBytes {
		if err := w.flushStmt(); err != nil {
			return err
		}
	}
	if w.cur.Rows >= w.chunkRows || w.cur.Bytes+int64(len(w.stmt)) >= chunkMaxBytes {
		return w.closeFile()
	}
	return nil
}

func keyStrings(bufs [][]byte) []string {
	if len(bufs) == 0 {
		return nil
	}
	s := make([]string, len(bufs))
	for i, b := range bufs {
		s[i] = string(b)
	}
	return s
}

func (w *chunkWriter) flushStmt() error {
	if w.stmtRows == 0 {
		return nil
	}
	w.stmt = append(w.stmt, ';', '\n')
	if _, err := w.f.Write(w.stmt); err != nil {
		return err
	}
	w.cur.Bytes += int64(len(w.stmt))
	w.counters.written(int64(w.stmtRows), int64(len(w.stmt)))
	w.stmtRows = 0
	return nil
}

func (w *chunkWriter) closeFile() error {
	if w.f == nil {
		return nil
	}
	if err := w.flushStmt(); err != nil {
		return err
	}
	w.cur.MaxKey = keyStrings(w.keyBuf)
	f := w.f
	w.f = nil
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	w.done = append(w.done, w.cur)
	return nil
}

func (w *chunkWriter) close() error { return w.closeFile() }

// abort closes a file left open by an error.
func (w *chunkWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
