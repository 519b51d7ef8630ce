"""Every table of Grid Cockpit on one declarative Base, one module per concern; import names from here."""
from .base import AREA_LEVELS, Area, AreaPath, Base, CHILD_LEVEL, Category, DEDICATED_KINDS, Department, STAFF_ROLES, Shift, Staff  # noqa: F401
from .events import Event, EventAudit, Intake, JobLease, Quarantine, SourceState, TaskLink, WorldInfo  # noqa: F401
from .accounts import AccessLog, ApiClient, AuthSession, KioskDevice, LoginAttempt, UserAccount  # noqa: F401
from .alerts import Outbox, RaisedWarning  # noqa: F401
from .admin import AdminChange, ApiClientUse, PasswordReset, RuleOverride  # noqa: F401
from .campaigns import VisitCampaign  # noqa: F401
from .forms import FormAssignment, FormPhoto, FormPush  # noqa: F401
from .participation import DepartmentAccount, RiderPoints, Verification, Whistle  # noqa: F401
from .people import Household, PeopleImport, PeopleRollup, Place, Resident, VisitTask  # noqa: F401
from .phone import EventPhoto, WorkerRequest  # noqa: F401
from .reports import Brief  # noqa: F401
from .rollups import EventRollup, RollupDirty, ScopeRollup  # noqa: F401

__all__ = ['Base', 'Area', 'Shift', 'Staff', 'Department', 'Category', 'AREA_LEVELS', 'CHILD_LEVEL', 'DEDICATED_KINDS', 'STAFF_ROLES', 'AreaPath', 'Event', 'Intake', 'EventAudit', 'TaskLink', 'WorldInfo', 'Quarantine', 'SourceState', 'JobLease', 'ApiClient', 'UserAccount', 'KioskDevice', 'AuthSession', 'LoginAttempt', 'AccessLog', 'RaisedWarning', 'Outbox', 'PasswordReset', 'RuleOverride', 'AdminChange', 'ApiClientUse', 'VisitCampaign', 'FormPush', 'FormAssignment', 'DepartmentAccount', 'Whistle', 'Verification', 'RiderPoints', 'Household', 'Resident', 'Place', 'PeopleImport', 'PeopleRollup', 'VisitTask', 'EventPhoto', 'WorkerRequest', 'Brief', 'EventRollup', 'ScopeRollup', 'RollupDirty']
