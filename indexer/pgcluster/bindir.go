package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoServerBinaries is returned when no directory holds both initdb and
// postgres (of the version a reused data dir needs).
var ErrNoServerBinaries = errors.New("pgcluster: no PostgreSQL server binaries found")

// probeTimeout bounds each run of pg_config or postgres -V while searching.
const probeTimeout = 10 * time.Second

// findBinDir returns the first directory, in search order, that holds
// executable initdb and postgres programs. When wantMajor is not empty (the
// PG_VERSION of a data dir being reused) the programs must be of that major
// version, because a server refuses a data dir of another major version.
//
// The search order is `pg_config --bindir`, then /usr/lib/postgresql/*/bin
// (Debian, Ubuntu) and /usr/pgsql-*/bin (RHEL) newest version first, then
// /usr/local/pgsql/bin, then the directory of the postgres on PATH.
func findBinDir(ctx context.Context, wantMajor string) (string, error) {
	candidates := binDirCandidates(ctx)
	var seen []string
	for _, dir := range candidates {
		if slices.Contains(seen, dir) || !hasServerPrograms(dir) {
			continue
		}
		seen = append(seen, dir)
		if wantMajor == "" {
			return dir, nil
		}
		if v, err := serverVersion(ctx, dir); err == nil && majorOf(v) == wantMajor {
			return dir, nil
		}
	}
	if wantMajor != "" {
		return "", fmt.Errorf("%w: the data dir was made by PostgreSQL %s, and none of %q is that version; install it or use another data dir",
			ErrNoServerBinaries, wantMajor, seen)
	}
	return "", fmt.Errorf("%w (searched pg_config --bindir, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, /usr/local/pgsql/bin and PATH); install the PostgreSQL server (e.g. apt-get install postgresql) or set DATABASE_URL",
		ErrNoServerBinaries)
}

func binDirCandidates(ctx context.Context) []string {
	var dirs []string
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		out, err := exec.CommandContext(pctx, pgConfig, "--bindir").Output()
		cancel()
		if err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
	}
	dirs = append(dirs, globNewestFirst("/usr/lib/postgresql/*/bin", "/usr/lib/postgresql/")...)
	dirs = append(dirs, globNewestFirst("/usr/pgsql-*/bin", "/usr/pgsql-")...)
	dirs = append(dirs, "/usr/local/pgsql/bin")
	if p, err := exec.LookPath("postgres"); err == nil {
		// Follow symlinks so that /usr/local/bin/postgres -> .../15/bin/postgres
		// counts as .../15/bin, where initdb finds its postgres too.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	return dirs
}

// globNewestFirst returns the matches of pattern sorted by the version that
// follows prefix in each path, newest first ("16" before "15" before "9.6").
func globNewestFirst(pattern, prefix string) []string {
	matches, _ := filepath.Glob(pattern)
	version := func(p string) []int {
		s, _, _ := strings.Cut(strings.TrimPrefix(p, prefix), "/")
		var v []int
		for _, f := range strings.Split(s, ".") {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil
			}
			v = append(v, n)
		}
		return v
	}
	slices.SortStableFunc(matches, func(a, b string) int { return slices.Compare(version(b), version(a)) })
	return matches
}

func hasServerPrograms(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// serverVersion returns the version postgres -V prints, e.g. "15.13".
func serverVersion(ctx context.Context, dir string) (string, error) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(pctx, filepath.Join(dir, "postgres"), "-V").Output()
	if err != nil {
		return "", fmt.Errorf("pgcluster: %s -V: %w", filepath.Join(dir, "postgres"), err)
	}
	// "postgres (PostgreSQL) 15.13 (Debian 15.13-1.pgdg120+1)"
	fields := strings.Fields(string(out))
	if len(fields) < 3 {
		return "", fmt.Errorf("pgcluster: unexpected postgres -V output %q", out)
	}
	return fields[2], nil
}

// majorOf returns the major version as PG_VERSION spells it: "15" for
// "15.13" or "15beta1", "9.6" for "9.6.24".
func majorOf(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) >= 2 && parts[0] == "9" {
		return parts[0] + "." + parts[1]
	}
	if i := strings.IndexFunc(parts[0], func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		return parts[0][:i]
	}
	return parts[0]
}
