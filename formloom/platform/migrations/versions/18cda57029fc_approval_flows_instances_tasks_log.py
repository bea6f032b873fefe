"""approval flows: instances, tasks, log

Revision ID: 18cda57029fc
Revises: 86ce6a3d0aba
Create Date: 2026-11-28 02:54:13.638235

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '18cda57029fc'
down_revision = '86ce6a3d0aba'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flow_instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('flow_key', sa.String(length=64), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('app_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitter_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('rev', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_flow_instances_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitter_id'], ['users.id'], name=op.f('fk_flow_instances_submitter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_instances'))
    )
    with op.batch_alter_table('flow_instances', schema=None) as batch_op:
        batch_op.create_index('ix_flow_instances_record', ['app_id', 'form_key', 'record_id'], unique=False)
        batch_op.create_index('ix_flow_instances_submitter', ['submitter_id', 'id'], unique=False)

    op.create_table('flow_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('step_key', sa.String(length=64), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_flow_log_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['flow_instances.id'], name=op.f('fk_flow_log_instance_id_flow_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_log'))
    )
    with op.batch_alter_table('flow_log', schema=None) as batch_op:
        batch_op.create_index('ix_flow_log_instance', ['instance_id', 'id'], unique=False)

    op.create_table('flow_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('step_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('acted_at', sa.DateTime(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('urged_at', sa.DateTime(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_flow_tasks_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_flow_tasks_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instance_id'], ['flow_instances.id'], name=op.f('fk_flow_tasks_instance_id_flow_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_tasks'))
    )
    with op.batch_alter_table('flow_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_flow_tasks_done', ['assignee_id', 'acted_at'], unique=False)
        batch_op.create_index('ix_flow_tasks_inbox', ['assignee_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_flow_tasks_instance', ['instance_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('flow_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_tasks_instance')
        batch_op.drop_index('ix_flow_tasks_inbox')
        batch_op.drop_index('ix_flow_tasks_done')

    op.drop_table('flow_tasks')
    with op.batch_alter_table('flow_log', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_log_instance')

    op.drop_table('flow_log')
    with op.batch_alter_table('flow_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_instances_submitter')
        batch_op.drop_index('ix_flow_instances_record')

    op.drop_table('flow_instances')
