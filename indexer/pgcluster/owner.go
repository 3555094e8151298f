package pgcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ServerUserName is the system user initdb and postgres run as when this
// process runs as root.
const ServerUserName = "postgres"

// Errors about who runs the server and where its files are.
var (
	ErrNoServerUser = errors.New("pgcluster: running as root, and there is no \"" + ServerUserName + "\" user to run PostgreSQL as")
	ErrNotCluster   = errors.New("pgcluster: data dir is not empty and holds no PostgreSQL cluster")
	ErrWrongOwner   = errors.New("pgcluster: data dir is not owned by the server user")
)

// serverUser is the account the server programs run as.
type serverUser struct {
	uid, gid int
	name     string
	// cred is nil when the programs run as this process's user, and set
	// (from root) to switch to another.
	cred *syscall.Credential
}

func (su serverUser) String() string {
	if su.name != "" {
		return fmt.Sprintf("%s (uid %d)", su.name, su.uid)
	}
	return fmt.Sprintf("uid %d", su.uid)
}

// currentServerUser returns the user to run initdb and postgres as: this
// process's user, or ServerUserName when that is root, because postgres
// refuses to run as root.
func currentServerUser() (serverUser, error) {
	if euid := os.Geteuid(); euid != 0 {
		return serverUser{uid: euid, gid: os.Getegid()}, nil
	}
	return lookupServerUser(user.Lookup)
}

func lookupServerUser(lookup func(name string) (*user.User, error)) (serverUser, error) {
	u, err := lookup(ServerUserName)
	if err != nil {
		return serverUser{}, fmt.Errorf("%w (%v); create it (useradd --system --user-group --no-create-home %s; the postgresql package does this), run as a non-root user, or set DATABASE_URL",
			ErrNoServerUser, err, ServerUserName)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return serverUser{}, fmt.Errorf("%w: user %s has uid %q gid %q", ErrNoServerUser, ServerUserName, u.Uid, u.Gid)
	}
	if uid == 0 {
		return serverUser{}, fmt.Errorf("%w: user %s has uid 0, and PostgreSQL refuses to run as root", ErrNoServerUser, ServerUserName)
	}
	return serverUser{
		uid:  uid,
		gid:  gid,
		name: u.Username,
		// Empty Groups drops root's supplementary groups.
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
	}, nil
}

// chown gives path to su when the server runs as another user.
func (su serverUser) chown(path string) error {
	if su.cred == nil {
		return nil
	}
	if err := os.Lchown(path, su.uid, su.gid); err != nil {
		return fmt.Errorf("pgcluster: give %s to %s: %w", path, su, err)
	}
	return nil
}

// makeReachable lets su search every directory from / down to dir. Where su
// cannot, it adds only the search bit of the class su falls in (usually o+x:
// search, not list), so a data dir below root's private directories, such as
// t.TempDir()'s, is reachable by the postgres user. Nothing changes when the
// server runs as this process's user.
func (su serverUser) makeReachable(dir string) error {
	if su.cred == nil {
		return nil
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if bit := su.missingSearchBit(fi); bit != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|bit); err != nil {
				return fmt.Errorf("pgcluster: let %s search %s: %w", su, p, err)
			}
		}
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}

// missingSearchBit returns the permission bit su needs on the directory fi to
// search it, or 0 when su can search it. It looks at the owner, the owning
// group against su's primary group, and others, as the kernel does, except
// that it ignores su's supplementary groups and ACLs (which can only make
// adding the bit unnecessary, never wrong).
func (su serverUser) missingSearchBit(fi fs.FileInfo) fs.FileMode {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	var bit fs.FileMode
	switch {
	case int(st.Uid) == su.uid:
		bit = 0o100
	case int(st.Gid) == su.gid:
		bit = 0o010
	default:
		bit = 0o001
	}
	if fi.Mode().Perm()&bit != 0 {
		return 0
	}
	return bit
}

// dataDirState says what Start finds at a data dir.
type dataDirState int

const (
	dataDirMissing dataDirState = iota // absent or empty: initdb fills it
	dataDirCluster                     // holds a cluster: reuse it
)

// inspectDataDir tells a missing or empty data dir from one holding a
// cluster, and returns that cluster's major version (PG_VERSION). It refuses
// anything else, so Start never runs initdb over someone's files.
func inspectDataDir(dir string) (dataDirState, string, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dataDirMissing, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("pgcluster: %w", err)
	}
	if !fi.IsDir() {
		return 0, "", fmt.Errorf("%w: %s is not a directory", ErrNotCluster, dir)
	}
	version, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if err == nil {
		return dataDirCluster, strings.TrimSpace(string(version)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, "", fmt.Errorf("pgcluster: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, "", fmt.Errorf("pgcluster: %w", err)
	}
	if len(entries) > 0 {
		return 0, "", fmt.Errorf("%w: %s has %d entries and no PG_VERSION; refusing to initdb over it", ErrNotCluster, dir, len(entries))
	}
	return dataDirMissing, "", nil
}

// checkOwner fails with a chown hint when a reused data dir is not su's:
// postgres would refuse it with a less helpful message.
func (su serverUser) checkOwner(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == su.uid {
		return nil
	}
	return fmt.Errorf("%w: %s belongs to uid %d, and the server runs as %s; run: chown -R %d:%d %s",
		ErrWrongOwner, dir, st.Uid, su, su.uid, su.gid, dir)
}
