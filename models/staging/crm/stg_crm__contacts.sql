with source as (

    select * from {{ source('crm', 'contacts') }}

),

renamed as (

    select
        cast(contact_id as bigint) as contact_id,
        cast(customer_id as bigint) as customer_id,
        trim(lifecycle_stage) as lifecycle_stage,
        trim(account_name) as account_name,
        {{ mask_pii('lower(trim(email))') }} as email_address_hash,
        {{ mask_pii('trim(phone)') }} as phone_number_hash,
        trim(preferred_channel) as preferred_channel,
        trim(loyalty_tier) as loyalty_tier,
        cast(marketing_consent as boolean) as has_marketing_consent,
        cast(created_at as timestamp) as created_at,
        cast(converted_at as timestamp) as converted_at,
        cast(updated_at as timestamp) as updated_at,
        _dlt_load_id as dlt_load_id,
        {{ dlt_load_id_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
