"""Generic engines that know nothing about runs: each machine's declarations reuse them."""
