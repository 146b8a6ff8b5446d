// Package ddl is dm's one reading of DDL, on the TiDB parser: what a statement of a binlog
// QUERY event is (its kind in the ignore_event vocabulary), which tables and database it is
// about, and how it reads on a target — routed, IF [NOT] EXISTS added, the character sets and
// collations the upstream resolved made explicit (collation_compatible strict), MariaDB's JSON
// columns as each target flavour wants them, and restored as text MariaDB, MySQL and TiDB all
// read alike.
//
// The TiDB parser rejects several MariaDB forms (CREATE OR REPLACE, UUID/INET4/INET6, system
// versioning, INVISIBLE, COMPRESSED, PERSISTENT, PAGE_COMPRESSED, ALTER ONLINE, WAIT/NOWAIT,
// uca1400 collations). They are rewritten before parsing, in this package only (mariadb.go,
// on the one small lexer, lex.go); a MariaDB target still gets the statement as written when
// the rewrite would lose a MariaDB feature. A statement the parser cannot read even then is
// classified from its head (head.go), so that it can still be filtered, routed and applied.
//
// The schema tracker, the sync unit (plain DDL, online DDL, shard merging, ignore_sql) and the
// loader all read DDL through this package. It never imports master/, worker/, restapi/ or fsm/.
package ddl
