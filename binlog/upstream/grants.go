package upstream

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// privSet is what a user's SHOW GRANTS lines grant.
type privSet struct {
	// all: ALL [PRIVILEGES] ON *.*.
	all bool
	// global holds privileges granted ON *.*, upper case with single spaces,
	// e.g. "REPLICATION SLAVE". MySQL 8's dynamic privileges (BACKUP_ADMIN,
	// ...) land here too and are simply never asked for.
	global map[string]bool
	// scoped maps a privilege granted below the global level to the objects
	// it is granted on, as printed (e.g. "`app`.*"), for error messages.
	scoped map[string][]string
	// roles granted, as printed: `r1` (MariaDB) or `r1`@`%` (MySQL 8).
	roles []string
}

// has reports whether any of privs is granted globally.
func (p privSet) has(privs ...string) bool {
	if p.all {
		return true
	}
	for _, priv := range privs {
		if p.global[priv] {
			return true
		}
	}
	return false
}

// privAliases maps alternative spellings to the name checks use.
var privAliases = map[string]string{
	"ALL":                 "ALL PRIVILEGES",
	"REPLICATION REPLICA": "REPLICATION SLAVE",
}

// parseGrants parses the lines of SHOW GRANTS as MySQL 5.6-8.x and MariaDB
// 10.x print them:
//
//	GRANT SELECT, RELOAD ON *.* TO 'u'@'%' IDENTIFIED BY PASSWORD '*...'
//	GRANT ALL PRIVILEGES ON `app`.* TO `u`@`%` WITH GRANT OPTION
//	GRANT SELECT (`a`, `b`) ON `db`.`t` TO `u`@`%`
//	GRANT BACKUP_ADMIN,XA_RECOVER_ADMIN ON *.* TO `u`@`%`
//	GRANT `r1`@`%`,`r2`@`%` TO `u`@`%`      (role grants: no ON)
//	GRANT SHOW VIEW ON *.* TO PUBLIC         (MariaDB 10.11: applies to everyone)
//
// Only privileges ON *.* count as global. Lines that are not GRANTs (SET
// DEFAULT ROLE, MySQL 8's partial-revoke REVOKE lines) are skipped; the
// grantee is not checked, since every line is about the current user, one
// of its roles or PUBLIC. A GRANT line it cannot understand is an error,
// which quotes the line without any IDENTIFIED clause.
func parseGrants(lines []string) (privSet, error) {
	p := privSet{global: map[string]bool{}, scoped: map[string][]string{}}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if len(line) < len("GRANT ") || !strings.EqualFold(line[:len("GRANT ")], "GRANT ") {
			continue
		}
		if err := p.addGrant(line[len("GRANT "):]); err != nil {
			return privSet{}, fmt.Errorf("cannot understand the SHOW GRANTS line %q: %v", redactGrant(line), err)
		}
	}
	return p, nil
}

func (p *privSet) addGrant(body string) error {
	to := findKeyword(body, "TO", 0)
	if to < 0 {
		return errors.New("no TO clause")
	}
	on := findKeyword(body, "ON", 0)
	if on < 0 || on > to {
		// A role grant: GRANT role[, role] TO grantee.
		for _, r := range splitTopLevel(body[:to]) {
			if r = strings.TrimSpace(r); r != "" {
				p.roles = append(p.roles, r)
			}
		}
		if len(p.roles) == 0 {
			return errors.New("no privilege or role before TO")
		}
		return nil
	}
	object := strings.TrimSpace(body[on+len("ON") : to])
	if object == "" {
		return errors.New("no object after ON")
	}
	if kw, rest, ok := strings.Cut(object, " "); ok && strings.EqualFold(kw, "TABLE") {
		object = strings.TrimSpace(rest)
	}
	global := object == "*.*"
	var privs []string
	for _, item := range splitTopLevel(body[:on]) {
		// Column privileges: SELECT (`a`, `b`).
		if i := strings.IndexByte(item, '('); i >= 0 {
			item = item[:i]
		}
		name := strings.ToUpper(strings.Join(strings.Fields(item), " "))
		if name == "" {
			return errors.New("empty privilege name")
		}
		if alias, ok := privAliases[name]; ok {
			name = alias
		}
		privs = append(privs, name)
	}
	if len(privs) == 0 {
		return errors.New("no privilege before ON")
	}
	for _, name := range privs {
		switch {
		case name == "USAGE":
		case global && name == "ALL PRIVILEGES":
			p.all = true
		case global:
			p.global[name] = true
		case !slices.Contains(p.scoped[name], object):
			p.scoped[name] = append(p.scoped[name], object)
		}
	}
	return nil
}

// scan walks s, calling f for every byte outside quotes ('...', "...",
// `...`) at parenthesis depth 0. f returns false to stop.
func scan(s string, f func(i int) bool) {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			switch {
			case c == '\\' && quote != '`':
				i++ // an escaped character
			case c == quote && i+1 < len(s) && s[i+1] == quote:
				i++ // a doubled quote
			case c == quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"', '`':
			quote = c
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 && !f(i) {
				return
			}
		}
	}
}

// findKeyword returns the offset of the first whole-word, case-insensitive
// kw in s at or after from, outside quotes and parentheses, or -1.
func findKeyword(s, kw string, from int) int {
	found := -1
	scan(s, func(i int) bool {
		if i < from || i+len(kw) > len(s) || !strings.EqualFold(s[i:i+len(kw)], kw) {
			return true
		}
		if i > 0 && !unicode.IsSpace(rune(s[i-1])) {
			return true
		}
		if i+len(kw) < len(s) && !unicode.IsSpace(rune(s[i+len(kw)])) {
			return true
		}
		found = i
		return false
	})
	return found
}

// splitTopLevel splits s at commas outside quotes and parentheses.
func splitTopLevel(s string) []string {
	var parts []string
	start := 0
	scan(s, func(i int) bool {
		if s[i] == ',' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
		return true
	})
	return append(parts, s[start:])
}

// redactGrant cuts a SHOW GRANTS line before anything that may carry a
// password or its hash (IDENTIFIED BY PASSWORD '*...', IDENTIFIED VIA ...
// USING '...', PASSWORD EXPIRE ...). The search ignores quoting on purpose:
// it must work on lines too broken to parse.
func redactGrant(line string) string {
	upper := strings.ToUpper(line)
	cut := len(line)
	for _, marker := range []string{"IDENTIFIED", "PASSWORD", "USING"} {
		if i := strings.Index(upper, marker); i >= 0 && i < cut {
			cut = i
		}
	}
	if cut == len(line) {
		return line
	}
	return strings.TrimSpace(line[:cut]) + " …(rest hidden)"
}
