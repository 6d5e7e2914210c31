{#-
    on-run-start: the ops schema and its run-history tables, created when
    missing (plain DDL both adapters run), so the ops sources exist before
    the first model reads them and the on-run-end hook has somewhere to
    write. Idempotent; changes nothing that exists.

    It runs in its own transaction (begin ... commit, the same SQL on both
    adapters), so it must be the first on-run-start hook: dbt clears any
    transaction before the first hook, and a later hook may open one.
-#}
{% macro ops_create_tables() %}
    {%- if execute -%}
        begin;
        create schema if not exists {{ ops_relation('x').include(database=false, identifier=false) }};
        {%- for table_name, columns in ops_tables().items() %}
        create table if not exists {{ ops_relation(table_name) }} (
            {%- for name, data_type in columns %}
            {{ name }} {{ data_type }}{{ ',' if not loop.last }}
            {%- endfor %}
        );
        {%- endfor %}
        commit;
    {%- endif -%}
{% endmacro %}
