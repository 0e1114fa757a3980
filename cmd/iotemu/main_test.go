package main

import (
	"os"
	"testing"

	"github.com/iotemu/iotemu/internal/testtool"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testtool.Report()
	os.Exit(code)
}
