package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

// DM's files reach the API through restapi/dmyaml, the one converter between DM's YAML and the
// API's model; dmctl only reads them from disk, opens their passwords with the key it was given
// and prints the converter's warnings.

// isFileArg says whether a task or source argument names a YAML file rather than a name, as
// DM's dmctl decides it: by the extension.
func isFileArg(arg string) bool {
	ext := strings.ToLower(filepath.Ext(arg))
	return ext == ".yaml" || ext == ".yml"
}

// taskNameArg resolves DM's "task name or task file" argument to the task's name.
func taskNameArg(arg string) (string, error) {
	if !isFileArg(arg) {
		return arg, nil
	}
	return nameInFile(arg, "name")
}

// sourceNameArg resolves DM's "source id or source file" argument to the source's name.
func sourceNameArg(arg string) (string, error) {
	if !isFileArg(arg) {
		return arg, nil
	}
	return nameInFile(arg, "source-id")
}

// nameInFile reads only the top-level key naming the task or source, so that a file whose other
// keys this dmctl would refuse (or whose password it cannot open) still names what to stop.
func nameInFile(path, key string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", failuref(0, "read %s: %v", path, err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return "", failuref(0, "%s is not a YAML file: %v", path, err)
	}
	name, ok := top[key].(string)
	if !ok || name == "" {
		return "", failuref(0, "%s has no %s", path, key)
	}
	return name, nil
}

// fileOptions are the converter's options for files on this machine: TLS files are read from
// disk, and passwords are opened with the key in --secret-key-path when one is given.
func (a *app) fileOptions() (dmyaml.Options, error) {
	opts := dmyaml.Options{ReadFile: os.ReadFile}
	if a.opts.secretKeyPath == "" {
		return opts, nil
	}
	key, err := security.ReadSecretKey(a.opts.secretKeyPath)
	if err != nil {
		return opts, failuref(0, "--secret-key-path: %v", err)
	}
	ours, err := security.NewCipher(key)
	if err != nil {
		return opts, failuref(0, "--secret-key-path: %v", err)
	}
	dms, err := dmyaml.DMDecrypter(key)
	if err != nil {
		return opts, failuref(0, "--secret-key-path: %v", err)
	}
	// What this dmctl's encrypt printed, else what DM's printed with the same key file.
	opts.Decrypter = dmyaml.DecrypterFunc(func(ciphertext string) (string, error) {
		plain, err := ours.Decrypt(ciphertext)
		if err == nil {
			return plain, nil
		}
		plain, dmErr := dms.Decrypt(ciphertext)
		if dmErr == nil {
			return plain, nil
		}
		return "", errors.Join(err, dmErr)
	})
	return opts, nil
}

// readTaskFile converts a DM task.yaml, printing the converter's warnings on stderr.
func (a *app) readTaskFile(path string) (restapi.Task, error) {
	data, opts, err := a.readFile(path)
	if err != nil {
		return restapi.Task{}, err
	}
	task, warnings, err := dmyaml.ParseTask(data, opts)
	a.warn(path, warnings)
	if err != nil {
		return restapi.Task{}, fileError(path, err)
	}
	return task, nil
}

// readSourceFile converts a DM source.yaml, printing the converter's warnings on stderr.
func (a *app) readSourceFile(path string) (dmyaml.SourceFile, error) {
	data, opts, err := a.readFile(path)
	if err != nil {
		return dmyaml.SourceFile{}, err
	}
	src, warnings, err := dmyaml.ParseSource(data, opts)
	a.warn(path, warnings)
	if err != nil {
		return dmyaml.SourceFile{}, fileError(path, err)
	}
	return src, nil
}

// readSourceFiles converts every file before any is applied, so that a bad one changes nothing.
func (a *app) readSourceFiles(files []string) ([]dmyaml.SourceFile, error) {
	var parsed []dmyaml.SourceFile
	for _, f := range files {
		sf, err := a.readSourceFile(f)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, sf)
	}
	return parsed, nil
}

func (a *app) readFile(path string) ([]byte, dmyaml.Options, error) {
	opts, err := a.fileOptions()
	if err != nil {
		return nil, opts, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, opts, failuref(0, "read %s: %v", path, err)
	}
	return data, opts, nil
}

// fileError is a file the converter refused: DM's code for a bad config file, and every
// problem with its line.
func fileError(path string, err error) error {
	return failuref(fsm.CodeConfigYAML, "%s: %v", path, err)
}

// warn prints the converter's warnings, one line each, where they do not mix with the answer.
func (a *app) warn(path string, warnings []dmyaml.Warning) {
	for _, w := range warnings {
		fmt.Fprintf(a.stderr, "warning: %s: %s\n", path, w)
	}
}
