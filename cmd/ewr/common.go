package main

import (
	"os"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
)

// logLevelUsage documents --log-level.
const logLevelUsage = `CometBFT log level: debug, info, error, none, or module:level pairs ("consensus:info,*:error")`

func newLogger(level string) (log.Logger, error) {
	l, err := chainengine.NewLogger(os.Stderr, level)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return l, nil
}
