package membership

import (
	"bytes"
	"context"
	"log/slog"
)

// LogWriter turns the "[LEVEL] ..." lines that hashicorp's libraries (memberlist, raft via
// hclog) print into slog records, so a process has one log format.
type LogWriter struct{ logger *slog.Logger }

// NewLogWriter returns a LogWriter logging to logger.
func NewLogWriter(logger *slog.Logger) *LogWriter { return &LogWriter{logger: logger} }

func (w *LogWriter) Write(b []byte) (int, error) {
	line := bytes.TrimSpace(b)
	level := slog.LevelInfo
	for _, lp := range levelPrefixes {
		if i := bytes.Index(line, []byte(lp.prefix)); i >= 0 {
			level = lp.level
			line = bytes.TrimSpace(line[i+len(lp.prefix):])
			break
		}
	}
	w.logger.Log(context.Background(), level, string(line))
	return len(b), nil
}

var levelPrefixes = [...]struct {
	prefix string
	level  slog.Level
}{
	{"[TRACE]", slog.LevelDebug - 4}, {"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError},
}
