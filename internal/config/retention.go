package config

import (
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/retention"
)

// RetentionVariables are the variables Retention reads, one per kind of
// data (retention.Kind.Env; a test keeps the two lists equal).
var RetentionVariables = []string{"IVSBATCH_RETAIN_PICTURES", "IVSBATCH_RETAIN_ERRORS", "IVSBATCH_RETAIN_OCR",
	"IVSBATCH_RETAIN_INPUTS", "IVSBATCH_RETAIN_VERDICTS"}

// Retention reads the retention policy (RetentionVariables over
// retention.Default), checked against the dedup window
// (IVSBATCH_DEDUP_WINDOW), whose reuse reads the inputs' digest.
func Retention(get envconf.Lookup) (retention.Policy, error) {
	window, err := envconf.Duration(get, "IVSBATCH_DEDUP_WINDOW", pipeline.DefaultDedupWindow)
	if err != nil {
		return nil, err
	}
	return retention.FromEnv(get, window)
}

// PurgeCron reads IVSBATCH_PURGE_CRON: when the workers run the purge (a
// cron spec, ops.DefaultPurgeCron when unset, "off" for never).
func PurgeCron(get envconf.Lookup) (string, error) {
	v := envconf.String(get, "IVSBATCH_PURGE_CRON", ops.DefaultPurgeCron)
	if _, err := ops.ParsePurgeCron(v); err != nil {
		return "", err
	}
	return v, nil
}
