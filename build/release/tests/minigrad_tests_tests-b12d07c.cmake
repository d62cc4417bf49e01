set( minigrad_tests_TESTS)
