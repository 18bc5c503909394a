package fs2

// CPUWeight is the cpu.weight Set writes for v1 cpu shares; the systemd
// driver gives systemd the same CPUWeight.
func CPUWeight(shares uint64) uint64 { return sharesToWeight(shares) }
