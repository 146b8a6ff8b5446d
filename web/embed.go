// Package web holds the browser side of dm: the dashboard every master serves at /dashboard/
// (plain HTML, CSS and JavaScript without a build step, embedded in the binary so that it
// works without internet access) and, under test/, its browser test.
package web

import "embed"

// Dashboard holds the dashboard's files under dashboard/.
//
//go:embed dashboard
var Dashboard embed.FS
