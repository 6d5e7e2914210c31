{#-
    on-run-start guard: stop a build before any model when the masking salt
    table restricted.pii_salt is missing, with the command that writes it
    (mask_pii reads the salt from there; dbt never sees the salt itself).
-#}
{% macro assert_pii_salt_present() %}
    {%- if execute -%}
        {%- set salt_table = adapter.get_relation(
            database=target.database,
            schema='restricted',
            identifier='pii_salt',
        ) -%}
        {%- if salt_table is none -%}
            {{ exceptions.raise_compiler_error(
                "The masking salt table restricted.pii_salt is missing on target '"
                ~ target.name ~ "'. `warehouse` and `load` write it before each build; "
                ~ "for plain dbt run first: python -m orchestration.pii_salt --target "
                ~ target.name
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
