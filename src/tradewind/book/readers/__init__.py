"""Readers for recorded order-book, trade and quote files."""
