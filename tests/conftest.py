import os

from hypothesis import HealthCheck, settings

# The first call of a kernel may compile it: no per-example deadline.
settings.register_profile("omnibandit", deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=True, print_blob=True)
settings.register_profile("fuzz", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "omnibandit"))
