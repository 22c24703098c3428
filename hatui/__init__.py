"""hatui: a terminal operations console for MySQL/MariaDB clusters held together by keepalived."""

import warnings

# asyncssh still imports cryptography's DSA classes; cryptography 47+ warns about that on every
# import. The operator can do nothing about it, and `hatui status` output must be only what it
# says (cron, Nagios): drop exactly that warning, nothing else.
warnings.filterwarnings("ignore", message=r"DSA is deprecated", module=r"asyncssh(\.|$)")
