package initproto

//go:generate go run ./genplan ../nsenter/plan_ops.h
