"""Execution: approved decisions become orders with client ids."""
