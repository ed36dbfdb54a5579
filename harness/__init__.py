"""What drives the local cloud from outside, beside bench/ and chaos/: the demo (`make demo`,
`python -m harness.demo`) and the throwaway project copy the tests, chaos and the benchmarks
deploy into. Harness code lives here, not in the emulator (cli/localcloud/), so the emulator
imports nothing from globalctl; these modules may use both."""
