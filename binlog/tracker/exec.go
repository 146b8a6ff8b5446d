package tracker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/rules"
)

// Exec applies one DDL statement as found in a binlog QUERY event. currentSchema is the
// event's schema ("" when the statement qualifies its names). Statements that change no
// table definition are reported Ignored. A statement the tracker cannot follow is reported
// in NeedsReread (and the tables concerned are forgotten); an error means the statement
// could not be understood at all and nothing was changed.
func (t *Tracker) Exec(currentSchema, sql string) (Result, error) {
	return t.ExecStatement(ddl.Parse(sql, currentSchema))
}

// ExecStatement is Exec for a statement already read by the DDL layer.
func (t *Tracker) ExecStatement(st *ddl.Statement) (Result, error) {
	if !st.Parsed() {
		return t.execUnparsed(st)
	}
	rw := st.Rewrite
	if rw != nil {
		t.logRewrite(st.Text, rw)
	} else {
		rw = &ddl.Rewrite{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	res := Result{Normalized: st.Rewrite != nil}
	for _, stmt := range st.Nodes {
		if err := t.apply(stmt, st.Schema, rw, &res); err != nil {
			return res, err
		}
	}
	res.Ignored = len(res.Changed)+len(res.Dropped)+len(res.NeedsReread) == 0 && !isTableDDL(st.Nodes)
	return res, nil
}

// execUnparsed follows a statement the parser cannot read from the names the DDL layer
// found in its head: tables it creates or changes are forgotten and must be re-read, tables
// it drops or renames away are forgotten.
func (t *Tracker) execUnparsed(st *ddl.Statement) (Result, error) {
	reread, dropped, ok := unparsedRefs(st)
	if !ok {
		if st.Kind == "" && ignorableHead[st.Head()] {
			t.log.Info("schema tracker ignores a statement it cannot parse that changes no table", "schema", st.Schema, "sql", st.Text)
			return Result{Ignored: true}, nil
		}
		return Result{}, fmt.Errorf("schema tracker: cannot parse DDL %q: %w", st.Text, st.ParseErr)
	}
	t.mu.Lock()
	for _, r := range append(append([]TableRef{}, dropped...), reread...) {
		t.remove(r)
	}
	t.mu.Unlock()
	res := Result{Dropped: dropped, NeedsReread: reread, Ignored: len(dropped)+len(reread) == 0}
	if len(reread) > 0 {
		t.log.Warn("schema tracker cannot parse a DDL even after rewriting MariaDB syntax; the tables it changes must be re-read from the upstream",
			"schema", st.Schema, "sql", st.Text, "tables", refsString(reread), "err", st.ParseErr)
	} else if len(dropped) > 0 {
		t.log.Info("schema tracker could not parse a DROP/RENAME; applied from its table names", "sql", st.Text, "dropped", refsString(dropped))
	}
	return res, nil
}

// unparsedRefs: which tables an unparsed statement changes (reread) or removes (dropped);
// ok is false when it is not a table statement whose names are all known.
func unparsedRefs(st *ddl.Statement) (reread, dropped []TableRef, ok bool) {
	refs := func(ns []ddl.TableName) ([]TableRef, bool) {
		out := make([]TableRef, 0, len(ns))
		for _, n := range ns {
			if n.Schema == "" {
				return nil, false
			}
			out = append(out, TableRef{n.Schema, n.Table})
		}
		return out, true
	}
	tables, ok1 := refs(st.Tables)
	others, ok2 := refs(st.Others)
	if !ok1 || !ok2 {
		return nil, nil, false
	}
	switch st.Kind {
	case rules.EventCreateTable, rules.EventCreateIndex, rules.EventDropIndex:
		return tables, nil, true
	case rules.EventAlterTable:
		if len(others) > 0 {
			return others, tables, true
		}
		return tables, nil, true
	case rules.EventDropTable:
		return nil, tables, true
	case rules.EventRenameTable:
		return others, tables, true
	case rules.EventTruncateTable:
		return nil, nil, true
	}
	return nil, nil, false
}

// ignorableHead are statement heads that never change a table definition.
var ignorableHead = map[string]bool{
	"CREATE": true, "ALTER": true, "DROP": true, "RENAME": true, // views, users, routines, ...
	"XA": true, "BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true,
	"GRANT": true, "REVOKE": true, "SET": true, "FLUSH": true, "ANALYZE": true, "OPTIMIZE": true,
	"REPAIR": true, "CHECK": true, "INSTALL": true, "UNINSTALL": true, "LOCK": true, "UNLOCK": true,
	"SHOW": true, "DO": true, "CALL": true, "USE": true, "START": true, "RESET": true, "PURGE": true,
	"KILL": true, "CHECKSUM": true, "SELECT": true, "HANDLER": true, "BINLOG": true,
}

func isTableDDL(stmts []ast.StmtNode) bool {
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.CreateTableStmt:
			if s.TemporaryKeyword == ast.TemporaryNone {
				return true
			}
		case *ast.DropTableStmt:
			if !s.IsView && s.TemporaryKeyword == ast.TemporaryNone {
				return true
			}
		case *ast.AlterTableStmt, *ast.RenameTableStmt, *ast.TruncateTableStmt, *ast.CreateIndexStmt,
			*ast.DropIndexStmt, *ast.CreateDatabaseStmt, *ast.DropDatabaseStmt, *ast.AlterDatabaseStmt:
			return true
		}
	}
	return false
}

func refsString(refs []TableRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

func (t *Tracker) ref(n *ast.TableName, currentSchema string) (TableRef, error) {
	s := n.Schema.O
	if s == "" {
		s = currentSchema
	}
	if s == "" {
		return TableRef{}, fmt.Errorf("schema tracker: table `%s`: %w", n.Name.O, errNoSchema)
	}
	if n.Name.O == "" {
		// MariaDB refuses the name; a table tracked under it could not be written back.
		return TableRef{}, fmt.Errorf("schema tracker: a table in `%s` with an empty name", s)
	}
	return TableRef{s, n.Name.O}, nil
}

// reread forgets a table and asks the caller to read it again: the statement concerns a
// table the tracker does not know (yet), which is normal for tables created before the task.
func (t *Tracker) reread(r TableRef, res *Result, why string) {
	t.remove(r)
	res.NeedsReread = append(res.NeedsReread, r)
	t.log.Info("schema tracker: the table's definition is read from the upstream", "table", r.String(), "reason", why)
}

// rereadFailed is reread for a statement the tracker could not apply to the definition it
// holds (which then no longer matches the upstream's).
func (t *Tracker) rereadFailed(r TableRef, res *Result, err error) {
	t.remove(r)
	res.NeedsReread = append(res.NeedsReread, r)
	t.log.Warn("schema tracker could not apply the DDL to its definition of the table; reading the table from the upstream", "table", r.String(), "error", err)
}

func (t *Tracker) apply(stmt ast.StmtNode, currentSchema string, rw *ddl.Rewrite, res *Result) error {
	switch s := stmt.(type) {
	case *ast.CreateDatabaseStmt:
		name := s.Name.O
		d, exists := t.dbs[name]
		if exists && s.IfNotExists && !rw.OrReplace {
			return nil
		}
		if exists && rw.OrReplace {
			for tn := range d.tables {
				res.Dropped = append(res.Dropped, TableRef{name, tn})
			}
			delete(t.dbs, name)
		}
		d = t.db(name)
		d.charset, d.collate = dbOptions(s.Options, "", "")
	case *ast.AlterDatabaseStmt:
		name := s.Name.O
		if s.AlterDefaultDatabase || name == "" {
			name = currentSchema
		}
		if name == "" {
			return fmt.Errorf("schema tracker: ALTER DATABASE: %w", errNoSchema)
		}
		d := t.db(name)
		d.charset, d.collate = dbOptions(s.Options, d.charset, d.collate)
		for _, ts := range d.tables {
			ts.derived = nil
		}
	case *ast.DropDatabaseStmt:
		if d := t.dbs[s.Name.O]; d != nil {
			for tn := range d.tables {
				res.Dropped = append(res.Dropped, TableRef{s.Name.O, tn})
			}
			delete(t.dbs, s.Name.O)
		}
	case *ast.CreateTableStmt:
		if s.TemporaryKeyword != ast.TemporaryNone {
			return nil
		}
		return t.createTable(s, currentSchema, rw, res)
	case *ast.DropTableStmt:
		if s.IsView || s.TemporaryKeyword != ast.TemporaryNone {
			return nil
		}
		for _, n := range s.Tables {
			r, err := t.ref(n, currentSchema)
			if err != nil {
				return err
			}
			t.remove(r)
			res.Dropped = append(res.Dropped, r)
		}
	case *ast.RenameTableStmt:
		for _, tt := range s.TableToTables {
			from, err := t.ref(tt.OldTable, currentSchema)
			if err != nil {
				return err
			}
			to, err := t.ref(tt.NewTable, currentSchema)
			if err != nil {
				return err
			}
			ts := t.lookup(from)
			t.remove(from)
			res.Dropped = append(res.Dropped, from)
			if ts == nil {
				t.reread(to, res, "renamed from untracked table "+from.String())
				continue
			}
			t.put(to, ts)
			res.Changed = append(res.Changed, to)
		}
	case *ast.TruncateTableStmt:
		// rows only
	case *ast.AlterTableStmt:
		r, err := t.ref(s.Table, currentSchema)
		if err != nil {
			return err
		}
		return t.alterTable(r, currentSchema, s.Specs, rw, res)
	case *ast.CreateIndexStmt:
		r, err := t.ref(s.Table, currentSchema)
		if err != nil {
			return err
		}
		c := &ast.Constraint{IfNotExists: s.IfNotExists, Name: s.IndexName, Keys: s.IndexPartSpecifications, Option: s.IndexOption}
		switch s.KeyType {
		case ast.IndexKeyTypeUnique:
			c.Tp = ast.ConstraintUniq
		case ast.IndexKeyTypeFulltext:
			c.Tp = ast.ConstraintFulltext
		default:
			c.Tp = ast.ConstraintIndex
		}
		return t.alterTable(r, currentSchema, []*ast.AlterTableSpec{{Tp: ast.AlterTableAddConstraint, Constraint: c}}, rw, res)
	case *ast.DropIndexStmt:
		r, err := t.ref(s.Table, currentSchema)
		if err != nil {
			return err
		}
		return t.alterTable(r, currentSchema, []*ast.AlterTableSpec{{Tp: ast.AlterTableDropIndex, Name: s.IndexName, IfExists: s.IfExists}}, rw, res)
	default:
		// GRANT, users, views, routines, SET, sequences ...: no table definition changes.
	}
	return nil
}

func dbOptions(opts []*ast.DatabaseOption, cs, co string) (string, string) {
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			cs, co = canonCharset(o.Value), ""
		case ast.DatabaseOptionCollate:
			co = canonCollation(o.Value)
		}
	}
	return cs, co
}

func (t *Tracker) createTable(s *ast.CreateTableStmt, currentSchema string, rw *ddl.Rewrite, res *Result) error {
	r, err := t.ref(s.Table, currentSchema)
	if err != nil {
		return err
	}
	old := t.lookup(r)
	if old != nil && s.IfNotExists && !rw.OrReplace {
		return nil
	}
	if old != nil && !rw.OrReplace {
		t.log.Warn("schema tracker: CREATE TABLE of a table it already tracks; replacing its definition", "table", r.String())
	}
	if s.Select != nil {
		t.reread(r, res, "CREATE TABLE ... SELECT")
		return nil
	}
	var ts *tableState
	if s.ReferTable != nil {
		src, err := t.ref(s.ReferTable, currentSchema)
		if err != nil {
			return err
		}
		st := t.lookup(src)
		if st == nil {
			t.reread(r, res, "CREATE TABLE LIKE an untracked table "+src.String())
			return nil
		}
		c, err := clone(st.stmt)
		if err != nil {
			t.rereadFailed(r, res, err)
			return nil
		}
		ts = &tableState{stmt: c, types: copyTypes(st.types)}
	} else {
		ts = &tableState{stmt: s, types: map[string]string{}}
		for _, c := range s.Cols {
			if v := rw.Types[c.Name.Name.L]; v != "" {
				ts.types[c.Name.Name.L] = v
			}
		}
		if err := prepareCreate(s); err != nil {
			t.rereadFailed(r, res, err)
			return nil
		}
		// Like the server, fix the table's default character set at creation.
		if cs, co := tableCharset(s); cs == "" && co == "" {
			if d := t.dbs[r.Schema]; d != nil && d.charset != "" {
				s.Options = append(s.Options, &ast.TableOption{Tp: ast.TableOptionCharset, StrValue: d.charset})
				if d.collate != "" {
					s.Options = append(s.Options, &ast.TableOption{Tp: ast.TableOptionCollate, StrValue: d.collate})
				}
			}
		}
	}
	ts.stmt.IfNotExists = false
	t.put(r, ts)
	res.Changed = append(res.Changed, r)
	return nil
}

func copyTypes(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// prepareCreate turns column-level PRIMARY KEY and UNIQUE into table constraints and names
// every unnamed index the way MySQL does, so later DROP INDEX statements find them.
func prepareCreate(s *ast.CreateTableStmt) error {
	if s.Select != nil {
		return fmt.Errorf("CREATE TABLE ... SELECT is not tracked")
	}
	// The upstream refuses a repeated column name (found by FuzzTrackerExec): a table with
	// one would map row images to the wrong columns.
	seen := map[string]bool{}
	for _, c := range s.Cols {
		if seen[c.Name.Name.L] {
			return fmt.Errorf("duplicate column name %q", c.Name.Name.O)
		}
		seen[c.Name.Name.L] = true
	}
	var extra []*ast.Constraint
	for _, c := range s.Cols {
		extra = append(extra, hoist(c)...)
	}
	s.Constraints = append(s.Constraints, extra...)
	cons := s.Constraints
	s.Constraints = nil
	for _, c := range cons {
		if c.Tp == ast.ConstraintPrimaryKey {
			// a second primary key would have failed upstream; the last one wins
			s.Constraints = removePrimary(s.Constraints)
		}
		nameIndex(s, c)
		s.Constraints = append(s.Constraints, c)
	}
	return nil
}

func removePrimary(cons []*ast.Constraint) []*ast.Constraint {
	out := cons[:0]
	for _, c := range cons {
		if c.Tp != ast.ConstraintPrimaryKey {
			out = append(out, c)
		}
	}
	return out
}

// hoist removes the PRIMARY KEY and UNIQUE options of a column definition and returns them as
// constraints.
func hoist(c *ast.ColumnDef) []*ast.Constraint {
	var out []*ast.Constraint
	opts := c.Options[:0]
	for _, o := range c.Options {
		switch o.Tp {
		case ast.ColumnOptionPrimaryKey:
			out = append(out, &ast.Constraint{Tp: ast.ConstraintPrimaryKey, Keys: []*ast.IndexPartSpecification{{Column: &ast.ColumnName{Name: c.Name.Name}}}})
			opts = append(opts, &ast.ColumnOption{Tp: ast.ColumnOptionNotNull})
		case ast.ColumnOptionUniqKey:
			out = append(out, &ast.Constraint{Tp: ast.ConstraintUniqKey, Keys: []*ast.IndexPartSpecification{{Column: &ast.ColumnName{Name: c.Name.Name}}}})
		default:
			opts = append(opts, o)
		}
	}
	c.Options = opts
	return out
}

func isIndex(c *ast.Constraint) bool {
	switch c.Tp {
	case ast.ConstraintKey, ast.ConstraintIndex, ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex,
		ast.ConstraintFulltext, ast.ConstraintVector, ast.ConstraintColumnar:
		return true
	}
	return false
}

func findIndex(s *ast.CreateTableStmt, name string) int {
	for i, c := range s.Constraints {
		if strings.EqualFold(name, "PRIMARY") && c.Tp == ast.ConstraintPrimaryKey {
			return i
		}
		if isIndex(c) && strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// nameIndex gives an unnamed index MySQL's name: its first column, then _2, _3 ... on clashes.
func nameIndex(s *ast.CreateTableStmt, c *ast.Constraint) {
	if !isIndex(c) || c.Name != "" {
		return
	}
	base := "expr"
	if len(c.Keys) > 0 && c.Keys[0].Column != nil {
		base = c.Keys[0].Column.Name.O
	}
	name := base
	for i := 2; findIndex(s, name) >= 0 || strings.EqualFold(name, "PRIMARY"); i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	c.Name = name
}

func findColumn(s *ast.CreateTableStmt, name string) int {
	for i, c := range s.Cols {
		if strings.EqualFold(c.Name.Name.O, name) {
			return i
		}
	}
	return -1
}

// place inserts def according to pos (nil: at the end).
func place(s *ast.CreateTableStmt, def *ast.ColumnDef, pos *ast.ColumnPosition) error {
	at := len(s.Cols)
	if pos != nil {
		switch pos.Tp {
		case ast.ColumnPositionFirst:
			at = 0
		case ast.ColumnPositionAfter:
			i := findColumn(s, pos.RelativeColumn.Name.O)
			if i < 0 {
				return fmt.Errorf("AFTER unknown column %s", pos.RelativeColumn.Name.O)
			}
			at = i + 1
		}
	}
	s.Cols = append(s.Cols, nil)
	copy(s.Cols[at+1:], s.Cols[at:])
	s.Cols[at] = def
	return nil
}

func renameInKeys(s *ast.CreateTableStmt, from, to string) {
	for _, c := range s.Constraints {
		for _, k := range c.Keys {
			if k.Column != nil && strings.EqualFold(k.Column.Name.O, from) {
				k.Column.Name = ast.NewCIStr(to)
			}
		}
	}
}

// dropFromKeys removes a column from every index, dropping indexes left without columns.
func dropFromKeys(s *ast.CreateTableStmt, name string) {
	cons := s.Constraints[:0]
	for _, c := range s.Constraints {
		if c.Tp == ast.ConstraintForeignKey || c.Tp == ast.ConstraintCheck {
			cons = append(cons, c)
			continue
		}
		keys := c.Keys[:0]
		for _, k := range c.Keys {
			if k.Column != nil && strings.EqualFold(k.Column.Name.O, name) {
				continue
			}
			keys = append(keys, k)
		}
		c.Keys = keys
		if len(keys) > 0 {
			cons = append(cons, c)
		}
	}
	s.Constraints = cons
}

func (t *Tracker) alterTable(r TableRef, currentSchema string, specs []*ast.AlterTableSpec, rw *ddl.Rewrite, res *Result) error {
	old := t.lookup(r)
	if old == nil {
		if onlyNoops(specs) {
			return nil
		}
		t.reread(r, res, "ALTER of an untracked table")
		return nil
	}
	stmt, err := clone(old.stmt)
	if err != nil {
		t.rereadFailed(r, res, err)
		return nil
	}
	ts := &tableState{stmt: stmt, types: copyTypes(old.types)}
	newRef := r
	for _, spec := range specs {
		nr, err := t.applySpec(ts, r, currentSchema, spec, rw)
		if err != nil {
			t.rereadFailed(r, res, err)
			return nil
		}
		if nr != nil {
			newRef = *nr
		}
	}
	t.remove(r)
	if newRef != r {
		res.Dropped = append(res.Dropped, r)
		t.remove(newRef)
	}
	t.put(newRef, ts)
	res.Changed = append(res.Changed, newRef)
	return nil
}

func onlyNoops(specs []*ast.AlterTableSpec) bool {
	for _, s := range specs {
		switch s.Tp {
		case ast.AlterTableLock, ast.AlterTableAlgorithm, ast.AlterTableForce, ast.AlterTableEnableKeys, ast.AlterTableDisableKeys:
		default:
			return false
		}
	}
	return true
}

func (t *Tracker) setType(ts *tableState, col string, rw *ddl.Rewrite) {
	l := strings.ToLower(col)
	if v := rw.Types[l]; v != "" {
		ts.types[l] = v
	} else {
		delete(ts.types, l)
	}
}

func (t *Tracker) applySpec(ts *tableState, r TableRef, currentSchema string, spec *ast.AlterTableSpec, rw *ddl.Rewrite) (*TableRef, error) {
	switch spec.Tp {
	case ast.AlterTableAddColumns:
		return nil, t.addColumns(ts, spec, rw)
	case ast.AlterTableDropColumn:
		return nil, dropColumn(ts, spec)
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		return nil, t.changeColumn(ts, spec, rw)
	case ast.AlterTableRenameColumn:
		return nil, renameColumn(ts, spec)
	case ast.AlterTableAlterColumn:
		return nil, alterColumnDefault(ts.stmt, spec)
	case ast.AlterTableRenameTable:
		if currentSchema == "" {
			currentSchema = r.Schema
		}
		to, err := t.ref(spec.NewTable, currentSchema)
		if err != nil {
			return nil, err
		}
		return &to, nil
	case ast.AlterTableOption:
		applyTableOptions(ts.stmt, spec.Options)
	default:
		return nil, applyIndexSpec(ts.stmt, spec)
	}
	return nil, nil
}

func (t *Tracker) addColumns(ts *tableState, spec *ast.AlterTableSpec, rw *ddl.Rewrite) error {
	s := ts.stmt
	for i, def := range spec.NewColumns {
		if findColumn(s, def.Name.Name.O) >= 0 {
			if spec.IfNotExists {
				continue
			}
			return fmt.Errorf("ADD COLUMN %s: column exists", def.Name.Name.O)
		}
		extra := hoist(def)
		var pos *ast.ColumnPosition
		if i == 0 {
			pos = spec.Position
		}
		if err := place(s, def, pos); err != nil {
			return err
		}
		t.setType(ts, def.Name.Name.O, rw)
		for _, c := range extra {
			addConstraint(s, c)
		}
	}
	for _, c := range spec.NewConstraints {
		addConstraint(s, c)
	}
	return nil
}

func dropColumn(ts *tableState, spec *ast.AlterTableSpec) error {
	s := ts.stmt
	name := spec.OldColumnName.Name.O
	i := findColumn(s, name)
	if i < 0 {
		if spec.IfExists {
			return nil
		}
		return fmt.Errorf("DROP COLUMN %s: no such column", name)
	}
	s.Cols = append(s.Cols[:i], s.Cols[i+1:]...)
	dropFromKeys(s, name)
	delete(ts.types, strings.ToLower(name))
	return nil
}

// changeColumn is MODIFY and CHANGE COLUMN.
func (t *Tracker) changeColumn(ts *tableState, spec *ast.AlterTableSpec, rw *ddl.Rewrite) error {
	s := ts.stmt
	def := spec.NewColumns[0]
	oldName := def.Name.Name.O
	if spec.Tp == ast.AlterTableChangeColumn {
		oldName = spec.OldColumnName.Name.O
	}
	i := findColumn(s, oldName)
	if i < 0 {
		if spec.IfExists {
			return nil
		}
		return fmt.Errorf("MODIFY/CHANGE COLUMN %s: no such column", oldName)
	}
	if j := findColumn(s, def.Name.Name.O); j >= 0 && j != i {
		return fmt.Errorf("CHANGE COLUMN %s: column %s exists", oldName, def.Name.Name.O)
	}
	extra := hoist(def)
	if spec.Position != nil && spec.Position.Tp != ast.ColumnPositionNone {
		s.Cols = append(s.Cols[:i], s.Cols[i+1:]...)
		if err := place(s, def, spec.Position); err != nil {
			return err
		}
	} else {
		s.Cols[i] = def
	}
	if oldName != def.Name.Name.O {
		renameInKeys(s, oldName, def.Name.Name.O)
		delete(ts.types, strings.ToLower(oldName))
	}
	t.setType(ts, def.Name.Name.O, rw)
	for _, c := range extra {
		addConstraint(s, c)
	}
	return nil
}

func renameColumn(ts *tableState, spec *ast.AlterTableSpec) error {
	s := ts.stmt
	from, to := spec.OldColumnName.Name.O, spec.NewColumnName.Name.O
	i := findColumn(s, from)
	if i < 0 {
		if spec.IfExists {
			return nil
		}
		return fmt.Errorf("RENAME COLUMN %s: no such column", from)
	}
	s.Cols[i].Name = &ast.ColumnName{Name: ast.NewCIStr(to)}
	renameInKeys(s, from, to)
	if v, ok := ts.types[strings.ToLower(from)]; ok {
		delete(ts.types, strings.ToLower(from))
		ts.types[strings.ToLower(to)] = v
	}
	return nil
}

// alterColumnDefault is ALTER COLUMN ... SET/DROP DEFAULT.
func alterColumnDefault(s *ast.CreateTableStmt, spec *ast.AlterTableSpec) error {
	def := spec.NewColumns[0]
	i := findColumn(s, def.Name.Name.O)
	if i < 0 {
		return fmt.Errorf("ALTER COLUMN %s: no such column", def.Name.Name.O)
	}
	col := s.Cols[i]
	opts := col.Options[:0]
	for _, o := range col.Options {
		if o.Tp != ast.ColumnOptionDefaultValue {
			opts = append(opts, o)
		}
	}
	for _, o := range def.Options {
		if o.Tp == ast.ColumnOptionDefaultValue {
			opts = append(opts, o)
		}
	}
	col.Options = opts
	return nil
}

// applyIndexSpec applies the index and constraint specs; others (ALGORITHM, LOCK, FORCE,
// partitioning, KEYS, comments ...) change no column or key.
func applyIndexSpec(s *ast.CreateTableStmt, spec *ast.AlterTableSpec) error {
	switch spec.Tp {
	case ast.AlterTableAddConstraint:
		c := spec.Constraint
		if c.IfNotExists && c.Name != "" && findIndex(s, c.Name) >= 0 {
			return nil
		}
		addConstraint(s, c)
	case ast.AlterTableDropPrimaryKey:
		i := findIndex(s, "PRIMARY")
		if i < 0 {
			return fmt.Errorf("DROP PRIMARY KEY: no primary key")
		}
		s.Constraints = append(s.Constraints[:i], s.Constraints[i+1:]...)
	case ast.AlterTableDropIndex:
		i := findIndex(s, spec.Name)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			return fmt.Errorf("DROP INDEX %s: no such index", spec.Name)
		}
		s.Constraints = append(s.Constraints[:i], s.Constraints[i+1:]...)
	case ast.AlterTableDropForeignKey, ast.AlterTableDropCheck:
		for i, c := range s.Constraints {
			if (c.Tp == ast.ConstraintForeignKey || c.Tp == ast.ConstraintCheck) && strings.EqualFold(c.Name, spec.Name) {
				s.Constraints = append(s.Constraints[:i], s.Constraints[i+1:]...)
				break
			}
		}
	case ast.AlterTableRenameIndex:
		i := findIndex(s, spec.FromKey.O)
		if i < 0 {
			return fmt.Errorf("RENAME INDEX %s: no such index", spec.FromKey.O)
		}
		s.Constraints[i].Name = spec.ToKey.O
	}
	return nil
}

// addConstraint adds an index or constraint, naming it when unnamed.
func addConstraint(s *ast.CreateTableStmt, c *ast.Constraint) {
	if c.Tp == ast.ConstraintPrimaryKey {
		s.Constraints = removePrimary(s.Constraints)
		for _, k := range c.Keys {
			if k.Column == nil {
				continue
			}
			if i := findColumn(s, k.Column.Name.O); i >= 0 {
				setNotNull(s.Cols[i])
			}
		}
	}
	nameIndex(s, c)
	c.IfNotExists = false
	s.Constraints = append(s.Constraints, c)
}

func setNotNull(c *ast.ColumnDef) {
	opts := c.Options[:0]
	for _, o := range c.Options {
		if o.Tp != ast.ColumnOptionNull && o.Tp != ast.ColumnOptionNotNull {
			opts = append(opts, o)
		}
	}
	c.Options = append(opts, &ast.ColumnOption{Tp: ast.ColumnOptionNotNull})
}

// applyTableOptions merges ALTER TABLE options into the table's. A new default character set
// does not change existing columns, so they keep the old one explicitly; CONVERT TO does.
func applyTableOptions(s *ast.CreateTableStmt, opts []*ast.TableOption) {
	oldCS, oldCO := tableCharset(s)
	oldCS, oldCO = resolveCharset(oldCS, oldCO)
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		switch o.Tp {
		case ast.TableOptionCharset, ast.TableOptionCollate:
			convert := o.Tp == ast.TableOptionCharset && o.UintValue == ast.TableOptionCharsetWithConvertTo
			cs, co := "", ""
			if o.Tp == ast.TableOptionCharset {
				cs = o.StrValue
				if i+1 < len(opts) && opts[i+1].Tp == ast.TableOptionCollate {
					co = opts[i+1].StrValue
					i++
				}
			} else {
				co = o.StrValue
			}
			if convert {
				for _, c := range s.Cols {
					if !isCharColumn(c.Tp) {
						continue
					}
					c.Tp.SetCharset(cs)
					c.Tp.SetCollate("")
					removeCollate(c)
					if co != "" {
						c.Options = append(c.Options, &ast.ColumnOption{Tp: ast.ColumnOptionCollate, StrValue: co})
					}
				}
			} else if oldCS != "" {
				for _, c := range s.Cols {
					if !isCharColumn(c.Tp) {
						continue
					}
					if ccs, cco := columnCharset(c); ccs == "" && cco == "" {
						c.Tp.SetCharset(oldCS)
						if oldCO != "" {
							c.Options = append(c.Options, &ast.ColumnOption{Tp: ast.ColumnOptionCollate, StrValue: oldCO})
						}
					}
				}
			}
			kept := s.Options[:0]
			for _, x := range s.Options {
				if x.Tp != ast.TableOptionCharset && x.Tp != ast.TableOptionCollate {
					kept = append(kept, x)
				}
			}
			s.Options = kept
			if cs != "" {
				s.Options = append(s.Options, &ast.TableOption{Tp: ast.TableOptionCharset, StrValue: cs})
			}
			if co != "" {
				s.Options = append(s.Options, &ast.TableOption{Tp: ast.TableOptionCollate, StrValue: co})
			}
		default:
			replaced := false
			for j, x := range s.Options {
				if x.Tp == o.Tp {
					s.Options[j] = o
					replaced = true
				}
			}
			if !replaced {
				s.Options = append(s.Options, o)
			}
		}
	}
}

func removeCollate(c *ast.ColumnDef) {
	opts := c.Options[:0]
	for _, o := range c.Options {
		if o.Tp != ast.ColumnOptionCollate {
			opts = append(opts, o)
		}
	}
	c.Options = opts
}
