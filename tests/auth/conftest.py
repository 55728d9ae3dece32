from tests.auth.fast_staff import staff  # noqa: F401 - overrides the suite's slower ``staff`` fixture
