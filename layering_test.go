package ewr_test

import (
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The domain packages are pure state machines (DESIGN.md, "Packages"): the
// same block must give the same app hash on every node, and the rules must
// be testable without sockets. This test enforces it on their non-test code.
var domainPackages = []string{"receipt", "warehouse", "financing", "trading", "iot"}

// Infrastructure no domain package may depend on, even indirectly.
var forbiddenDeps = []string{
	"github.com/gofiber/", "github.com/valyala/", "github.com/nats-io/", "github.com/lib/pq",
	"github.com/cockroachdb/pebble", "github.com/cometbft/", "net/http", "database/sql",
}

// Imports that read a clock, randomness or the environment.
var forbiddenImports = []string{"math/rand", "math/rand/v2", "crypto/rand", "os", "os/exec", "net", "syscall", "unsafe"}

// Functions of package time that read the clock or start timers.
var clockFuncs = map[string]bool{
	"Now": true, "Since": true, "Until": true, "After": true, "AfterFunc": true, "Tick": true,
	"NewTimer": true, "NewTicker": true, "Sleep": true,
}

func TestDomainPackagesAreInfrastructureFree(t *testing.T) {
	for _, pkg := range domainPackages {
		if !hasGoFiles(t, pkg) {
			continue // a package not written yet
		}
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", "./"+pkg).Output()
		require.NoError(t, err, "go list ./%s", pkg)
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			require.NoError(t, dec.Decode(&p))
			for _, bad := range forbiddenDeps {
				assert.False(t, strings.HasPrefix(p.ImportPath, bad), "%s depends on %s", pkg, p.ImportPath)
			}
		}
	}
}

func TestDomainPackagesAreDeterministic(t *testing.T) {
	for _, pkg := range domainPackages {
		if !hasGoFiles(t, pkg) {
			continue
		}
		t.Run(pkg, func(t *testing.T) {
			fset := token.NewFileSet()
			files := parseNonTest(t, fset, pkg)
			conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
			info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
			_, err := conf.Check("github.com/ewrchain/ewr/"+pkg, fset, files, info)
			require.NoError(t, err)
			for _, f := range files {
				for _, imp := range f.Imports {
					path := strings.Trim(imp.Path.Value, `"`)
					for _, bad := range forbiddenImports {
						assert.NotEqual(t, bad, path, "%s imports %s", fset.Position(imp.Pos()), path)
					}
				}
				ast.Inspect(f, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.GoStmt:
						t.Errorf("%s: goroutine in a domain package", fset.Position(n.Pos()))
					case *ast.SelectStmt:
						t.Errorf("%s: select in a domain package", fset.Position(n.Pos()))
					case *ast.RangeStmt:
						if tv, ok := info.Types[n.X]; ok {
							if _, isMap := tv.Type.Underlying().(*types.Map); isMap {
								t.Errorf("%s: range over a map: iteration order is random", fset.Position(n.Pos()))
							}
						}
					case *ast.SelectorExpr:
						if obj, ok := info.Uses[n.Sel]; ok && obj.Pkg() != nil && obj.Pkg().Path() == "time" && clockFuncs[obj.Name()] {
							t.Errorf("%s: time.%s reads the clock; block time is the only time", fset.Position(n.Pos()), obj.Name())
						}
					case *ast.BasicLit:
						if n.Kind == token.FLOAT {
							t.Errorf("%s: float literal in a domain package", fset.Position(n.Pos()))
						}
					case *ast.Ident:
						if obj, ok := info.Uses[n]; ok {
							if b, ok := obj.Type().Underlying().(*types.Basic); ok && b.Info()&types.IsFloat != 0 {
								t.Errorf("%s: float %s in a domain package", fset.Position(n.Pos()), n.Name)
							}
						}
					}
					return true
				})
			}
		})
	}
}

func hasGoFiles(t *testing.T, dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

func parseNonTest(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	m, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	var files []*ast.File
	for _, path := range m {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		files = append(files, f)
	}
	return files
}

// The state's key layout is the domain's: its packages define the key
// prefixes (receipt.PrefixReceipt, warehouse.PrefixLot, ...) and every other
// package uses those constants. A prefix written out as a literal anywhere
// else is a second copy of the layout that will drift.
func TestKeyLayoutHasOneHome(t *testing.T) {
	otherLayout := map[string]string{"chainengine/baseline.go": "the baseline benchmark app's own state, not ewr's"}
	prefixes := map[string]bool{}
	for _, p := range ledger.Prefixes() {
		prefixes[p] = true
	}
	out, err := exec.Command("go", "list", "-f", `{{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, "./...").Output()
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		dir := fields[0]
		rel, _ := filepath.Rel(".", dir)
		if abs, err := filepath.Abs("."); err == nil {
			rel, _ = filepath.Rel(abs, dir)
		}
		if slices.Contains(domainPackages, rel) {
			continue
		}
		for _, name := range fields[1:] {
			if otherLayout[filepath.Join(rel, name)] != "" {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
			require.NoError(t, err)
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && prefixes[s] {
						t.Errorf("%s: key prefix %s written out; use the domain's constant", fset.Position(lit.Pos()), lit.Value)
					}
				}
				return true
			})
		}
	}
}
