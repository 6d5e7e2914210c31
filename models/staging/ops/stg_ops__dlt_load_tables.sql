with source as (

    select * from {{ source('ops', 'dlt_load_tables') }}

),

renamed as (

    select
        load_run_id,
        source_name,
        table_name,
        load_id as dlt_load_id,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(reconciliation_units as bigint) as reconciliation_units,
        cast(reconciliation_mismatches as bigint)
            as reconciliation_mismatches,
        cast(rows_repaired as bigint) as rows_repaired,
        source_name || '.' || table_name as table_label

    from source

)

select * from renamed
