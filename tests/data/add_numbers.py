import json
def lambda_handler(event, context):
    print(f"Event is {event}")
    records = event.get('Records')
    for record in records:
        message_body = record.get('body')
        message_body = json.loads(message_body)
        num1 = message_body.get('num1')
        num2 = message_body.get('num2')
        addition = num1 + num2
        print(f"Addition of numbers {num1} and {num2} is {addition}")
