with source as (

    select * from {{ source('erp', 'customer') }}

),

renamed as (

    select
        cast(c_custkey as bigint) as customer_id,
        trim(c_name) as customer_name,
        {{ mask_pii('trim(c_address)') }} as street_address_hash,
        cast(c_nationkey as bigint) as nation_id,
        {{ mask_pii('trim(c_phone)') }} as phone_number_hash,
        {{ phone_country_code('trim(c_phone)') }} as phone_country_code,
        cast(c_acctbal as decimal(15, 2)) as account_balance,
        trim(c_mktsegment) as market_segment,
        trim(c_comment) as customer_comment,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
