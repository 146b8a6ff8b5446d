package fsm

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contractCodes are the codes the API contract lists with DM's names (dm-api-contract.md §2.4,
// "Codes you will meet through the OpenAPI"), copied here so that the test runs from a clone.
var contractCodes = map[Code]string{
	10001: "ErrDBDriverError",
	11108: "ErrElectionGetLeaderIDFail",
	20031: "ErrConfigSourceIDNotFound",
	20033: "ErrConfigShardModeNotSupport",
	38048: "ErrMasterMasterNameNotExist",
	40051: "ErrWorkerNotPausedStage",
	40054: "ErrWorkerSubTaskNotFound",
	40056: "ErrWorkerOperSyncUnitOnly",
	40070: "ErrWorkerNoStart",
	44014: "ErrSchemaTrackerUnMarshalJSON",
	46001: "ErrSchedulerNotStarted",
	46004: "ErrSchedulerWorkerNotExist",
	46005: "ErrSchedulerWorkerOnline",
	46006: "ErrSchedulerWorkerInvalidTrans",
	46007: "ErrSchedulerSourceCfgExist",
	46008: "ErrSchedulerSourceCfgNotExist",
	46009: "ErrSchedulerSourcesUnbound",
	46010: "ErrSchedulerSourceOpTaskExist",
	46012: "ErrSchedulerRelayStageSourceNotExist",
	46014: "ErrSchedulerSubTaskExist",
	46016: "ErrSchedulerSubTaskOpTaskNotExist",
	46017: "ErrSchedulerSubTaskOpSourceNotExist",
	46018: "ErrSchedulerTaskNotExist",
	46019: "ErrSchedulerRequireNotRunning",
	46020: "ErrSchedulerRelayWorkersBusy",
	46021: "ErrSchedulerRelayWorkersWrongBound",
	46022: "ErrSchedulerRelayWorkersWrongRelay",
	46023: "ErrSchedulerSourceOpRelayExist",
	46024: "ErrSchedulerLatchInUse",
	46025: "ErrSchedulerSourceCfgUpdate",
	46027: "ErrSchedulerBoundDiffWithStartedRelay",
	49001: "ErrOpenAPICommonError",
	49002: "ErrOpenAPITaskSourceNotFound",
}

// outsideContract are the codes of the table the contract's list does not name, each with why
// it is DM's code for its meaning.
var outsideContract = map[Code]string{
	CodeRequestInvalid:         "not a terror: DM answers request-validation failures with 0 (contract §2.3)",
	CodeConfigYAML:             "DM's config-class code for a configuration file that cannot be decoded (POST /tasks/converters)",
	CodeCheckFail:              "the precheck's terror (contract §2.5, POST /tasks: failure → the checker's terror)",
	CodeShardDDLConflict:       "DM's sync-unit code for a shard DDL conflict",
	CodeVerifyHandleErrorArgs:  "DM's functional code for handle-error (binlog skip|replace|revert) arguments that do not hold",
	CodeSyncerOperatorNotExist: "DM's sync-unit code for a revert of a binlog operation that does not exist",
	CodeShardLockNotFound:      "DM's dm-master code for an unlock of an unknown lock",
	CodeMasterJoinFail:         "DM's dm-master code for a master that cannot join the cluster",
	CodeRelayStageInvalid:      "DM's scheduler code for a relay stage change it refuses",
	CodeSubtaskStageInvalid:    "DM's scheduler code for a subtask stage change it refuses",
	CodeSubtaskCfgUpdate:       "DM's scheduler code for a subtask config update it refuses (newer DM's PUT /tasks/{name} on a running task)",
	CodeInternal:               "DM's not-set class base (contract §2.4)",
}

// classBases are DM's class bases by the prefix of the terror name (contract §2.4): a code lies
// in its class's thousand.
var classBases = map[string]Code{
	"ErrDB":        10001,
	"ErrConfig":    20001,
	"ErrElection":  11001,
	"ErrVerify":    11001, // functional class
	"ErrTaskCheck": 26001,
	"ErrSyncer":    36001,
	"ErrMaster":    38001,
	"ErrWorker":    40001,
	"ErrScheduler": 46001,
	"ErrOpenAPI":   49001,
	"ErrNotSet":    50000,
}

func TestCodesAreUniqueAndSorted(t *testing.T) {
	codes := Codes()
	names := map[string]bool{}
	for i, c := range codes {
		if i > 0 {
			require.Less(t, codes[i-1].Code, c.Code, "the table is in numeric order, each code once")
		}
		assert.False(t, names[c.Name], "name %s twice", c.Name)
		names[c.Name] = true
		assert.NotEmpty(t, c.Name, "code %d", c.Code)
		assert.NotEmpty(t, c.Message, "code %d", c.Code)
		got, ok := LookupCode(int(c.Code))
		assert.True(t, ok)
		assert.Equal(t, c, got)
	}
	_, ok := LookupCode(38032)
	assert.False(t, ok, "38032 is DM's ErrMasterOperRespNotSuccess, which dm never answers")

	// Every constant is one row, and no two constants share a number: a code means one thing.
	consts := codeConstants(t)
	require.Len(t, consts, len(codes), "constants %v", consts)
	byValue := map[Code]string{}
	for name, v := range consts {
		if other, dup := byValue[v]; dup {
			t.Errorf("%s and %s are both %d", name, other, v)
		}
		byValue[v] = name
		_, ok := LookupCode(int(v))
		assert.True(t, ok, "%s (%d) is not in Codes()", name, v)
	}
}

func TestCodesAreDMs(t *testing.T) {
	for _, c := range Codes() {
		if name, ok := contractCodes[c.Code]; ok {
			assert.Equal(t, name, c.Name, "code %d is %s in the API contract", c.Code, name)
			assert.NotContains(t, outsideContract, c.Code, "code %d is in the contract", c.Code)
			continue
		}
		assert.Contains(t, outsideContract, c.Code, "code %d (%s) is neither in the contract nor explained", c.Code, c.Name)
		if c.Code == CodeRequestInvalid {
			continue
		}
		base, ok := classBase(c.Name)
		if assert.True(t, ok, "%s has no DM class", c.Name) {
			assert.True(t, c.Code >= base && c.Code < base+1000, "%s (%d) is outside its class at %d", c.Name, c.Code, base)
		}
	}
}

func classBase(name string) (Code, bool) {
	best := ""
	for prefix := range classBases {
		if strings.HasPrefix(name, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	return classBases[best], best != ""
}

// codeConstants parses codes.go for the constants of type Code and their values.
func codeConstants(t *testing.T) map[string]Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	require.NoError(t, err)
	out := map[string]Code{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				require.True(t, ok, "%s must be a number", name.Name)
				n, err := strconv.Atoi(lit.Value)
				require.NoError(t, err)
				out[name.Name] = Code(n)
			}
		}
	}
	return out
}

// TestNoCodeOutsideTable scans the non-test Go code of the packages that answer errors: no
// number in DM's code range appears outside codes.go, and no error constructor is given a number
// for its code.
func TestNoCodeOutsideTable(t *testing.T) {
	var problems []string
	for _, dir := range []string{".", "../master", "../worker", "../restapi", "../cmd"} {
		problems = append(problems, scanForCodeLiterals(t, dir)...)
	}
	sort.Strings(problems)
	assert.Empty(t, problems, "DM error codes belong in fsm/codes.go; use its constants")
}

func scanForCodeLiterals(t *testing.T, root string) []string {
	t.Helper()
	var problems []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if filepath.Clean(path) == "codes.go" {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if msg := codeLiteralProblem(n); msg != "" {
				problems = append(problems, fset.Position(n.Pos()).String()+": "+msg)
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return problems
}

// codeArg is the position of the code among the arguments of the error constructors.
var codeArg = map[string]int{"Errorf": 1, "badRequest": 0, "errorf": 0}

func codeLiteralProblem(n ast.Node) string {
	switch n := n.(type) {
	case *ast.BasicLit:
		if n.Kind != token.INT {
			return ""
		}
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil && v >= 10000 && v < 60000 {
			return "number " + n.Value + " in DM's error code range"
		}
	case *ast.CallExpr:
		name := ""
		switch fn := n.Fun.(type) {
		case *ast.Ident:
			name = fn.Name
		case *ast.SelectorExpr:
			if pkg, ok := fn.X.(*ast.Ident); ok && pkg.Name == "restapi" {
				name = fn.Sel.Name
			}
		}
		i, ok := codeArg[name]
		if !ok || len(n.Args) <= i+1 {
			return ""
		}
		if _, lit := n.Args[i].(*ast.BasicLit); lit {
			return name + " is given a number for its code"
		}
	case *ast.KeyValueExpr:
		if key, ok := n.Key.(*ast.Ident); ok && (key.Name == "Code" || key.Name == "ErrorCode") {
			if _, lit := n.Value.(*ast.BasicLit); lit {
				return key.Name + " is set to a number"
			}
		}
	}
	return ""
}
