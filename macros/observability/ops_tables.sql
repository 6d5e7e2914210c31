{#-
    The run-history tables of the ops schema and their columns, in order:
    one place for the DDL (ops_create_tables) and the inserts
    (ops_record_dbt_results). The dlt tables are written by the loaders
    (ingestion/history.py, same columns; a test compares the two).
-#}
{% macro ops_tables() %}
    {{ return({
        'dbt_invocations': [
            ('invocation_id', 'text'),
            ('command', 'text'),
            ('target_name', 'text'),
            ('dbt_version', 'text'),
            ('selector', 'text'),
            ('started_at', 'timestamp'),
            ('ended_at', 'timestamp'),
            ('duration_seconds', 'double precision'),
            ('status', 'text'),
            ('nodes', 'bigint'),
        ],
        'dbt_node_results': [
            ('invocation_id', 'text'),
            ('unique_id', 'text'),
            ('resource_type', 'text'),
            ('node_name', 'text'),
            ('status', 'text'),
            ('started_at', 'timestamp'),
            ('completed_at', 'timestamp'),
            ('execution_seconds', 'double precision'),
            ('rows_affected', 'bigint'),
            ('failures', 'bigint'),
            ('message', 'text'),
            ('test_name', 'text'),
            ('tested_node', 'text'),
            ('column_name', 'text'),
            ('severity', 'text'),
            ('quality_dimension', 'text'),
            ('max_loaded_at', 'timestamp'),
            ('freshness_age_seconds', 'double precision'),
            ('freshness_sla_seconds', 'double precision'),
        ],
        'dlt_loads': [
            ('load_run_id', 'text'),
            ('source_name', 'text'),
            ('pipeline_name', 'text'),
            ('dataset_name', 'text'),
            ('load_id', 'text'),
            ('load_ids', 'text'),
            ('package_state', 'text'),
            ('status', 'text'),
            ('started_at', 'timestamp'),
            ('finished_at', 'timestamp'),
            ('duration_seconds', 'double precision'),
            ('rows_loaded', 'bigint'),
            ('rows_quarantined', 'bigint'),
            ('error_message', 'text'),
        ],
        'dlt_load_tables': [
            ('load_run_id', 'text'),
            ('source_name', 'text'),
            ('load_id', 'text'),
            ('table_name', 'text'),
            ('rows_loaded', 'bigint'),
            ('rows_quarantined', 'bigint'),
            ('reconciliation_units', 'bigint'),
            ('reconciliation_mismatches', 'bigint'),
            ('rows_repaired', 'bigint'),
        ],
    }) }}
{% endmacro %}
