package api_test

import (
	"os"
	"testing"

	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
)

// TestMain stops the private PostgreSQL cluster the tests share.
func TestMain(m *testing.M) { os.Exit(pgtest.RunTests(m)) }
