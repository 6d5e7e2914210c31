{#-
    Private helper of the vault's entry macros: on an incremental run, a
    predicate that keeps only the staged rows loaded at or after the
    target's watermark for their source system and meet `condition` (the
    ghost-key test, say), so only those are hashed and compared. The
    condition is evaluated only on rows of the slice (a CASE, which a
    database cannot split: DuckDB pushes a single-column condition such as
    `order_hk <> ghost` into its table scan, ahead of any other filter, and
    would hash every row to test it). The watermark of a system (the part
    of `record_source` before the first dot: erp, crm, carrier) is the
    newest load_at the target already holds from it, read once when the
    model is compiled and inlined as a literal, so the database can filter
    before hashing.
    `>=`, not `>`: a killed load package resumes with its load id, so rows
    of the newest load may arrive after a build. A system the target holds
    nothing from yet is read in full; on a full build only the condition.
    Why per system and not per record source: all tables of a system share
    one dlt pipeline, whose packages complete in load id order (the loaders
    finish a pending package before extracting a new one), so every load
    of the system older than the watermark was complete when the build
    that saw the watermark ran. A table that gained no row from a system
    for a while re-reads that system's rows loaded since its last gain:
    more work, never a missed row. (Not for record-tracking satellites:
    they stamp deletions with the build's start, and need every key.)
-#}
{% macro vault_load_watermark(condition='true') -%}
    {%- if not (execute and is_incremental()) -%}
        {{ condition }}
    {%- else -%}
        {%- set watermarks = run_query(
            "select split_part(record_source, '.', 1) as source_system, "
            ~ "cast(max(load_at) as " ~ dbt.type_string() ~ ") as watermark "
            ~ "from " ~ this ~ " where record_source <> '"
            ~ var("vault_ghost_record_source") ~ "'"
            ~ " group by split_part(record_source, '.', 1)"
            ~ " order by source_system"
        ) -%}
        {%- if watermarks.rows | length == 0 -%}
            {{ condition }}
        {%- else -%}
            case
                when load_at >= case split_part(record_source, '.', 1)
                {%- for row in watermarks.rows %}
                    when '{{ row[0] }}'
                        then cast('{{ row[1] }}' as timestamp)
                {%- endfor %}
                    else {{ vault_ghost_load_at() }}
                end
                    then {{ condition }}
                else false
            end
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
