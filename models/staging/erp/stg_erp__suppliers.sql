with source as (

    select * from {{ source('erp', 'supplier') }}

),

renamed as (

    select
        cast(s_suppkey as bigint) as supplier_id,
        trim(s_name) as supplier_name,
        {{ mask_pii('trim(s_address)') }} as street_address_hash,
        cast(s_nationkey as bigint) as nation_id,
        {{ mask_pii('trim(s_phone)') }} as phone_number_hash,
        {{ phone_country_code('trim(s_phone)') }} as phone_country_code,
        cast(s_acctbal as decimal(15, 2)) as account_balance,
        trim(s_comment) as supplier_comment,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
