# The two commands of the README, plus helpers.
.PHONY: run test fuzz bench images

# Run the embedded default guest image.
run:
	go run ./cmd/nsvm run

# The test suite: every package, then a short fuzz of the ELF loader.
test:
	go vet ./...
	go test -count=1 ./...
	# A fixed number of executions (not a duration: under load the fuzzer's
	# deadline can expire while its workers shut down), bounded by -timeout.
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=150000x -timeout=120s ./guestkernel/loader

fuzz:
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=60s ./guestkernel/loader

bench:
	go test -run='^$$' -bench=. -benchtime=2s ./bench/

images:
	$(MAKE) -C images
