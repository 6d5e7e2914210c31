{#-
    The run-history tables of the ops schema and their columns, in order:
    one place for the DDL (ops_create_tables) and the inserts
    (ops_record_dbt_results). The dlt tables are written by the loaders
    (ingestion/history.py, same columns; a test compares the two).
-#}
{% macro ops_tables() %}
    {{ return({
        'dbt_invocations': [
            ('invocation_id', 'varchar'),
            ('command', 'varchar'),
            ('target_name', 'varchar'),
            ('dbt_version', 'varchar'),
            ('selector', 'varchar'),
            ('started_at', 'timestamp'),
            ('ended_at', 'timestamp'),
            ('duration_seconds', 'double precision'),
            ('status', 'varchar'),
            ('nodes', 'bigint'),
        ],
        'dbt_node_results': [
            ('invocation_id', 'varchar'),
            ('unique_id', 'varchar'),
            ('resource_type', 'varchar'),
            ('node_name', 'varchar'),
            ('status', 'varchar'),
            ('started_at', 'timestamp'),
            ('completed_at', 'timestamp'),
            ('execution_seconds', 'double precision'),
            ('rows_affected', 'bigint'),
            ('failures', 'bigint'),
            ('message', 'varchar'),
            ('test_name', 'varchar'),
            ('tested_node', 'varchar'),
            ('column_name', 'varchar'),
            ('severity', 'varchar'),
            ('quality_dimension', 'varchar'),
            ('max_loaded_at', 'timestamp'),
            ('freshness_age_seconds', 'double precision'),
            ('freshness_sla_seconds', 'double precision'),
        ],
        'dlt_loads': [
            ('load_run_id', 'varchar'),
            ('source_name', 'varchar'),
            ('pipeline_name', 'varchar'),
            ('dataset_name', 'varchar'),
            ('load_id', 'varchar'),
            ('load_ids', 'varchar'),
            ('package_state', 'varchar'),
            ('status', 'varchar'),
            ('started_at', 'timestamp'),
            ('finished_at', 'timestamp'),
            ('duration_seconds', 'double precision'),
            ('rows_loaded', 'bigint'),
            ('rows_quarantined', 'bigint'),
            ('error_message', 'varchar'),
        ],
        'dlt_load_tables': [
            ('load_run_id', 'varchar'),
            ('source_name', 'varchar'),
            ('load_id', 'varchar'),
            ('table_name', 'varchar'),
            ('rows_loaded', 'bigint'),
            ('rows_quarantined', 'bigint'),
            ('reconciliation_units', 'bigint'),
            ('reconciliation_mismatches', 'bigint'),
            ('rows_repaired', 'bigint'),
        ],
    }) }}
{% endmacro %}
