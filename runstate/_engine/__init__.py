"""Generic engines that know nothing about runs; the Run machine's declarations use them."""
