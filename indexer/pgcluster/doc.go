// Package pgcluster runs a private PostgreSQL cluster for ewr: the read model's
// database for `make run`, and a real server for tests. The project never
// depends on a PostgreSQL server that happens to be running on the machine; it
// starts its own from the installed server programs, or uses the server that
// DATABASE_URL names.
//
// Words used here:
//
//   - cluster: what PostgreSQL calls one data directory served by one
//     postmaster. Start makes one (initdb) or reuses one, and runs it.
//   - data dir: the cluster's directory (Options.Dir). It is either absent or
//     empty, and then initdb fills it, or it holds a cluster (a PG_VERSION
//     file), and then it is reused, so a second `make run` resumes its data.
//     Anything else is refused rather than overwritten.
//   - server user: the account initdb and postgres run as. It is the current
//     user, except under root: PostgreSQL refuses to run as root, so then it is
//     the "postgres" system user (see "Root" below).
//   - shared test cluster: the one cluster a test binary starts lazily for
//     ForTest, in a temporary directory, without fsync.
//
// Invariants:
//
//   - initdb is atomic as seen from Dir: it runs in a hidden staging directory
//     beside Dir that is renamed into place only when initdb succeeded, so a
//     killed initdb never leaves a half-made cluster that a later Start would
//     try to reuse.
//   - The server listens on 127.0.0.1 only (plus a unix socket in the data dir
//     when the path fits, else in a short temporary directory), and trusts
//     every connection it accepts: any local user can connect as the
//     superuser "postgres" without a password. It is a development and test
//     server, not a production one.
//   - The postmaster never outlives the process that started it: it is
//     started with a parent-death signal of SIGQUIT (PostgreSQL's immediate
//     shutdown) from an OS thread that lives as long as the process, and in
//     its own process group so a Ctrl-C at the terminal reaches only our
//     process, which then calls Stop. Stop is a fast shutdown (SIGINT) with a
//     deadline, then SIGQUIT, then SIGKILL.
//   - A postmaster.pid left by a killed run is removed before the server
//     starts when the process it names is gone or is not a postgres serving
//     this data dir; otherwise it is left for postgres to judge, and postgres
//     refuses to start twice on one data dir.
//   - Every DSN this package returns is a lib/pq URL with connect_timeout set,
//     so no connection attempt waits forever; DSNs for clusters it started
//     also carry sslmode=disable.
//
// Root: when the effective user is root, initdb and postgres run as the
// "postgres" user (looked up with os/user; Start fails with ErrNoServerUser
// when there is none). Start then changes the file system as little as it
// can for that user to reach the data dir: the data dir itself is created
// owned by that user with mode 0700, and every existing ancestor directory
// that the user cannot search gets the search bit for its class (usually
// o+x: search, not list) added. For a repo under the root-owned /work
// (mode 0755) nothing above .ewr/pg changes; for t.TempDir() or /root, the
// private directories gain o+x. A reused data dir must already belong to the
// server user; Start reports the chown to run when it does not.
//
// Fsync: Options.Fsync true is for data that must survive a machine crash
// (`make run`). False is for tests: initdb --no-sync, and the server runs
// with fsync, synchronous_commit and full_page_writes off, so a crash of the
// machine (not of postgres) can corrupt the cluster.
package pgcluster
