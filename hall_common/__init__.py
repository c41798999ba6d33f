"""Plumbing shared by every service of the employer hall: written once, used by all."""
