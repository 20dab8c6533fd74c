"""Celery is configured from the Django settings: JSON only, tasks discovered, beat entries valid,
Redis when REDIS_URL is set and in-process (eager) otherwise."""

from __future__ import annotations

import importlib.util
import os
import types
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings

import clspdr
from clspdr.celery import app

SETTINGS_FILE = Path(clspdr.__file__).with_name("settings.py")


def _settings_with(monkeypatch, **env: str | None) -> types.ModuleType:
    """A fresh copy of clspdr/settings.py evaluated under `env` (None unsets a variable)."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("_settings_probe", SETTINGS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_reads_the_celery_settings_of_django():
    assert app.main == "clspdr"
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_ignore_result is True
    assert app.conf.timezone == "Europe/Paris"
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.task_always_eager is (not os.environ.get("REDIS_URL"))


def test_it_discovers_the_tasks_of_the_apps():
    app.loader.import_default_modules()  # what a worker does at start-up
    assert "actions.tasks.remind_stale_actions_task" in app.tasks


def test_it_schedules_only_registered_tasks():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule, "the beat schedule is empty"
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"beat entry {name!r} names an unknown task"


def test_it_checks_the_stale_action_reminders_every_quarter_of_an_hour():
    """The task itself waits for Monday 08:30 (outside the DST window) and sends each week's
    reminders once: a frequent check catches up a run that beat or the database missed."""
    entry = app.conf.beat_schedule["remind-stale-actions"]
    assert entry["task"] == "actions.tasks.remind_stale_actions_task"
    assert entry["schedule"] == crontab(minute="*/15")
    assert not entry.get("args")  # the task picks the current week itself


def test_it_runs_tasks_in_process_without_redis(monkeypatch):
    probe = _settings_with(monkeypatch, REDIS_URL=None, DEBUG="1")
    assert probe.CELERY_TASK_ALWAYS_EAGER is True
    assert probe.CELERY_TASK_EAGER_PROPAGATES is True
    assert probe.CELERY_BROKER_URL == "memory://"


def test_it_sends_tasks_through_redis_when_redis_url_is_set(monkeypatch):
    probe = _settings_with(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/3", DEBUG="1")
    assert probe.CELERY_TASK_ALWAYS_EAGER is False
    assert probe.CELERY_BROKER_URL == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/3"])
def test_it_only_accepts_json_whatever_the_broker(monkeypatch, redis_url):
    probe = _settings_with(monkeypatch, REDIS_URL=redis_url, DEBUG="1")
    assert probe.CELERY_ACCEPT_CONTENT == ["json"]
    assert probe.CELERY_TASK_SERIALIZER == "json"
