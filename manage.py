#!/usr/bin/env python
"""Django's command-line utility. Run it inside `make shell` or with the URLs set."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
