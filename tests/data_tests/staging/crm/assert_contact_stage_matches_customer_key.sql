-- A CRM contact is a customer exactly when it carries an ERP customer key:
-- customers have customer_id, leads have none, and only a converted lead has
-- converted_at. Returns each contact that breaks this.
with contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

final as (

    select
        contact_id,
        customer_id,
        lifecycle_stage,
        converted_at
    from contacts
    where
        (lifecycle_stage = 'customer') != (customer_id is not null)
        or (converted_at is not null and lifecycle_stage != 'customer')

)

select * from final
