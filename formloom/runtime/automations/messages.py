"""What the automation services say when they refuse (platform/messages.py: a stable code
each; the API says them in English, pages in the reader's language)."""
from formloom.platform.i18n import N_
from formloom.platform.messages import message

NO_AUTOMATION = message("automation.not_found", N_('No automation "%(key)s" in this app'))
UNKNOWN_STATUS = message("automation.unknown_status", N_('Unknown status'))
NOT_BY_HAND = message("automation.not_by_hand", N_('Only a schedule that does not go through records can be run by hand'))
SWITCHED_OFF = message("automation.switched_off", N_('This automation is switched off'))
NO_RUN = message("automation.no_run", N_('No such run'))
JOB_GONE = message("automation.job_gone", N_('The job of this run is gone; it cannot be retried'))
