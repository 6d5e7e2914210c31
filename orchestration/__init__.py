"""Orchestration: the main job, the test harness and the throwaway PostgreSQL cluster."""
