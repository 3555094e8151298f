package pgcluster

import (
	"context"
	"log/slog"
	"os"
)

// AppDatabase is the database Open creates for the app.
const AppDatabase = "ewr"

// Open returns the DSN of the app's database and a func that stops what Open
// started. When DATABASE_URL is set, Open returns it (with connect_timeout
// added when missing), starts nothing, and stop does nothing. Otherwise Open
// starts the cluster in dir with Fsync on, making it on first use and
// resuming it after, and creates database AppDatabase in it. stop logs a
// failed shutdown to slog.Default.
func Open(ctx context.Context, dir string) (dsn string, stop func(), err error) {
	if raw := os.Getenv("DATABASE_URL"); raw != "" {
		u, err := ParseDatabaseURL(raw)
		if err != nil {
			return "", nil, err
		}
		return u.String(), func() {}, nil
	}
	log := slog.Default()
	c, err := Start(ctx, Options{Dir: dir, Fsync: true, Logger: log})
	if err != nil {
		return "", nil, err
	}
	if err := c.CreateDatabase(ctx, AppDatabase); err != nil {
		c.Stop()
		return "", nil, err
	}
	stop = func() {
		if err := c.Stop(); err != nil {
			log.Error("pgcluster: stop", "dir", c.Dir(), "err", err)
		}
	}
	return c.DSN(AppDatabase), stop, nil
}
