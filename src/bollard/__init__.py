"""Bollard: a checked, audited gateway between AI agents and the Apollo.io API."""
