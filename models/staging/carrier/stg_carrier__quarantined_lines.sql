with source as (

    select * from {{ source('carrier', 'quarantine') }}

),

renamed as (

    select
        file_name,
        cast(line_number as integer) as line_number,
        {{ mask_pii('raw_line') }} as raw_line_hash,
        reason as quarantine_reason,
        detail as quarantine_detail,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
