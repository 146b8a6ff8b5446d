package restapi

import "regexp"

// The limits on names and tuning knobs that the API document states (maxLength, pattern,
// minimum, maximum on every field and parameter that carries them), so that the validator
// refuses what breaks the limits with 400 before any handler runs. They are exported for the
// master, which checks the same values for callers of its Backend. TestLimitsMatchTheDocument
// holds the document to them.
const (
	// MaxSourceNameLen is DM's limit on a source name (source-id).
	MaxSourceNameLen = 32
	// MaxTaskNameLen keeps the task's tables in meta_schema within MySQL's 64-character names:
	// <task>_syncer_checkpoint and <task>_loader_checkpoint here, and the longest of DM's,
	// <task>_syncer_sharding_meta, so that a task can keep its name on DM.
	MaxTaskNameLen = 43
	// MaxThreads bounds export_threads, import_threads and repl_threads: each is a database
	// connection (DM's published measurements reach 1024 sync workers).
	MaxThreads = 1024
	// MaxReplBatch bounds repl_batch, the statements of one target transaction: fifty times
	// DM's default of 100.
	MaxReplBatch = 5000
)

// The characters of names: they become directory names (relay and dump directories are
// named after sources and tasks), table names (a task's checkpoints) and path segments. The
// patterns are the document's.
const (
	sourceNamePattern = `^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	taskNamePattern   = `^[A-Za-z0-9_][A-Za-z0-9_-]*$`
)

var (
	sourceNameRE = regexp.MustCompile(sourceNamePattern)
	taskNameRE   = regexp.MustCompile(taskNamePattern)
)

// ValidSourceName reports whether name is a usable source name: 1 to MaxSourceNameLen
// letters, digits, '_', '-' or '.', not starting with '-' or '.'.
func ValidSourceName(name string) bool {
	return len(name) <= MaxSourceNameLen && sourceNameRE.MatchString(name)
}

// ValidTaskName reports whether name is a usable task name: 1 to MaxTaskNameLen letters,
// digits, '_' or '-', not starting with '-'.
func ValidTaskName(name string) bool {
	return len(name) <= MaxTaskNameLen && taskNameRE.MatchString(name)
}
